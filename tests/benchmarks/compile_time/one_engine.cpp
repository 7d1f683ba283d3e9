// Compile-time subject (target 7): a translation unit that defines one task
// with a typed payload and result, one engine for it, and registers it —
// the file a user writes per backend.
#include <string>

#include <taskexec/register.hpp>

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

struct Check : taskexec::Task<"check", Request, Answer> {};

struct LocalCheck : Check, taskexec::Engine<"local"> {
    Answer execute(const Request& request) const { return {!request.database.empty()}; }
};

}  // namespace compile_time

TASKEXEC_ENGINE(compile_time::LocalCheck);
