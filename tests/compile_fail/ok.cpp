// Control case for the compile-fail harness: correct use must compile with
// exactly the flags the failing cases get.
#include <taskexec/taskexec.hpp>

struct Echo : taskexec::Task<"echo"> {};

struct EchoLocal : Echo, taskexec::Engine<"local"> {
    taskexec::json execute(const taskexec::json& p) { return p; }
};
TASKEXEC_ENGINE(EchoLocal);

struct Wf : taskexec::Workflow<"wf", Echo> {};
TASKEXEC_WORKFLOW(Wf);
