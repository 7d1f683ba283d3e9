// A workflow listing a class that is not a task.
#include <taskexec/taskexec.hpp>

struct NotATask {};
struct W : taskexec::Workflow<"w", NotATask> {};
TASKEXEC_WORKFLOW(W);
