// Compile time, control for typed_engine.cpp: the same Request and Answer
// and the same conversions (JSON to Request, Answer to JSON), with nlohmann
// and fmt only — what a typed engine costs before taskexec adds anything.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include "typed_types.hpp"

namespace compile_time {

nlohmann::json check(const nlohmann::json& payload) {
    const Request request = payload.get<Request>();
    return nlohmann::json(Answer{!request.database.empty()});
}

}  // namespace compile_time
