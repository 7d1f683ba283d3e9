// A workflow without tasks.
#include <taskexec/taskexec.hpp>

struct W : taskexec::Workflow<"w"> {};
TASKEXEC_WORKFLOW(W);
