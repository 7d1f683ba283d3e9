// Compile time, typed (reported next to target 7): one_engine.cpp with a
// typed Payload and Result. Most of what it adds is nlohmann's conversion of
// Request and Answer, which typed_control.cpp compiles without taskexec.
#include "typed_types.hpp"

#include <taskexec/register.hpp>

namespace compile_time {

struct Check : taskexec::Task<"check", Request, Answer> {};

struct LocalCheck : Check, taskexec::Engine<"local"> {
    Answer execute(const Request& request) const { return {!request.database.empty()}; }
};

}  // namespace compile_time

TASKEXEC_ENGINE(compile_time::LocalCheck);
