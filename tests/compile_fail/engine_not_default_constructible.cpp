// An engine that cannot be default-constructed.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct E : A, taskexec::Engine<"x"> {
    explicit E(int) {}
    taskexec::json execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
