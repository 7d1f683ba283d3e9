// A small plugin adding one engine; PLUGIN_SIMPLE_NAME makes each build distinct.
#include "plugin_api.hpp"

namespace plugin_test {
struct Simple : Greet, taskexec::Engine<PLUGIN_SIMPLE_NAME> {
    taskexec::json execute(const taskexec::json&) { return PLUGIN_SIMPLE_NAME; }
};
TASKEXEC_ENGINE(Simple);
}  // namespace plugin_test
