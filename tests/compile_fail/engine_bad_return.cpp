// An execute returning something that is not the Result type.
#include <taskexec/taskexec.hpp>

struct R { int n = 0; };
struct A : taskexec::Task<"a", taskexec::json, R> {};
struct E : A, taskexec::Engine<"x"> {
    void execute(const taskexec::json&);
};
TASKEXEC_ENGINE(E);
