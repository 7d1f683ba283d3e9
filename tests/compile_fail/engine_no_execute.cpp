// An engine without execute.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct E : A, taskexec::Engine<"x"> {
    taskexec::json run(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
