// Tasks shared by the two translation units of test_conflicts.
#pragma once
#include <taskexec/taskexec.hpp>

namespace conflicts {
struct Shared : taskexec::Task<"cf.shared"> {};
struct Fine : taskexec::Task<"cf.fine"> {};
}  // namespace conflicts
