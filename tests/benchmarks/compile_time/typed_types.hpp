// The typed Payload and Result of typed_engine.cpp, shared with its control
// (typed_control.cpp) so both compile exactly the same user types.
#pragma once

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

}  // namespace compile_time
