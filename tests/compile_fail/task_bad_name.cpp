// A task name with a character outside [A-Za-z0-9_.-].
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"quiesce db"> {};
TASKEXEC_TASK(A);
