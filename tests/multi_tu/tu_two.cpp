// Second of two translation units that include shared_tasks.hpp.
#include "shared_tasks.hpp"

namespace multi_tu {
struct WhereTwo : Where, taskexec::Engine<"two"> {
    taskexec::json execute(const taskexec::json&) { return "two"; }
};
TASKEXEC_ENGINE(WhereTwo);
}  // namespace multi_tu
