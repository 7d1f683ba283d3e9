// Registrations of the package consumers. They live in a static library that
// main.cpp never names, so they only survive linking because the consumer
// links the library with taskexec_link_registrations() (whole archive).
#include <taskexec/taskexec.hpp>

struct Echo : taskexec::Task<"echo"> {};

struct EchoLocal : Echo, taskexec::Engine<"local"> {
    taskexec::json execute(const taskexec::json& p) { return p; }
};
TASKEXEC_ENGINE(EchoLocal);

struct Wf : taskexec::Workflow<"wf", Echo> {};
TASKEXEC_WORKFLOW(Wf);
