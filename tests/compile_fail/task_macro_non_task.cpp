// TASKEXEC_TASK on a class that is not a task.
#include <taskexec/taskexec.hpp>

struct NotATask {};
TASKEXEC_TASK(NotATask);
