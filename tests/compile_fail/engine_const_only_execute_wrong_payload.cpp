// An execute taking the wrong payload type is no suitable execute.
#include <taskexec/taskexec.hpp>

struct P { int n = 0; };
void from_json(const taskexec::json&, P&) {}
void to_json(taskexec::json&, const P&) {}
struct A : taskexec::Task<"a", P> {};
struct E : A, taskexec::Engine<"x"> {
    taskexec::json execute(const std::string&);
};
TASKEXEC_ENGINE(E);
