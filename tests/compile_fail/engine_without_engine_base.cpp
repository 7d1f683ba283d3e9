// An engine with a task but no Engine<> base.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct E : A {
    taskexec::json execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
