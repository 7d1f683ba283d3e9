// An engine defining both forms of execute.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct E : A, taskexec::Engine<"x"> {
    taskexec::json execute(const taskexec::json&);
    taskexec::json execute(const taskexec::json&, taskexec::Context&);
};
TASKEXEC_ENGINE(E);
