// Shared by the plugin test hosts and the test plugins. The workflow is
// registered here, so every plugin repeats it: a repeat must not count as an
// addition, nor as a conflict.
#pragma once
#include <taskexec/taskexec.hpp>

namespace plugin_test {
struct Greet : taskexec::Task<"pl.greet"> {};
struct GreetWf : taskexec::Workflow<"pl.wf", Greet> {};
TASKEXEC_WORKFLOW(GreetWf);
}  // namespace plugin_test
