// An engine deriving from two task classes.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct B : taskexec::Task<"b"> {};
struct E : A, B, taskexec::Engine<"x"> {
    taskexec::json execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
