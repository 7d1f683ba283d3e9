// A workflow listing one task twice.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
struct W : taskexec::Workflow<"w", A, A> {};
TASKEXEC_WORKFLOW(W);
