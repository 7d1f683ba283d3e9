// An engine type that is neither a valid name nor "*".
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct E : A, taskexec::Engine<"post/gres"> {
    taskexec::json execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
