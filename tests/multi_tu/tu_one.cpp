// First of two translation units that include shared_tasks.hpp.
#include "shared_tasks.hpp"

namespace multi_tu {
struct WhereOne : Where, taskexec::Engine<"one"> {
    taskexec::json execute(const taskexec::json&) { return "one"; }
};
TASKEXEC_ENGINE(WhereOne);
}  // namespace multi_tu
