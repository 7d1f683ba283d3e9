// Compile-time subject (target 7): a translation unit that defines one task
// and one engine for it, and registers it — the file a user writes per
// backend, with taskexec's own cost and nothing else: the engine takes and
// returns JSON, so no conversion of the user's types is compiled here.
// (typed_engine.cpp adds typed Payload/Result; typed_control.cpp is its
// conversions without taskexec, so the report can show taskexec's share.)
#include <taskexec/register.hpp>

namespace compile_time {

struct Check : taskexec::Task<"check"> {};

struct LocalCheck : Check, taskexec::Engine<"local"> {
    taskexec::json execute(const taskexec::json& request) const { return request; }
};

}  // namespace compile_time

TASKEXEC_ENGINE(compile_time::LocalCheck);
