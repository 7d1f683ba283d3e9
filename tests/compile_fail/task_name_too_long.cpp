// A task name of 65 characters.
#include <taskexec/taskexec.hpp>

struct A : taskexec::Task<"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"> {};
TASKEXEC_TASK(A);
