// An engine deriving from two Engine<> types.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct E : A, taskexec::Engine<"x">, taskexec::Engine<"y"> {
    taskexec::json execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
