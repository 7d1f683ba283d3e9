// Compile time, control for typed_engine.cpp: the same Request and Answer
// and the same conversions (JSON to Request, Answer to JSON), with nlohmann
// and fmt only — what a typed engine costs before taskexec adds anything.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

namespace compile_time {

struct Request {
    std::string database;
    int timeout_ms = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Request, database, timeout_ms)

struct Answer {
    bool ok = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Answer, ok)

nlohmann::json check(const nlohmann::json& payload) {
    const Request request = payload.get<Request>();
    return nlohmann::json(Answer{!request.database.empty()});
}

}  // namespace compile_time
