// An empty workflow name.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct W : taskexec::Workflow<"", A> {};
TASKEXEC_WORKFLOW(W);
