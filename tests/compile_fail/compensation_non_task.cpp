// A compensation that is not a task.
#include <taskexec/taskexec.hpp>

struct NotATask {};
struct A : taskexec::Task<"a"> { using compensation = NotATask; };
TASKEXEC_TASK(A);
