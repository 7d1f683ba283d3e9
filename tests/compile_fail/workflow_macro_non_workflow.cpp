// TASKEXEC_WORKFLOW on a class that is not a workflow.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"a"> {};
TASKEXEC_WORKFLOW(A);
