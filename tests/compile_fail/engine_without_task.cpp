// An engine must derive from exactly one task class; this one derives from
// none. Expected: a static_assert "taskexec: ..." that mentions the task.
#include <taskexec/taskexec.hpp>

struct E : taskexec::Engine<"x"> {
    taskexec::json execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
