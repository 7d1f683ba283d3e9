// Claims (pl.greet, host) with a class of its own: the host already has
// that pair, so loading this plugin must fail and change nothing — not even
// its harmless second engine may appear.
#include "plugin_api.hpp"

namespace plugin_test {
struct ImpostorHost : Greet, taskexec::Engine<"host"> {
    taskexec::json execute(const taskexec::json&) { return "impostor"; }
};
TASKEXEC_ENGINE(ImpostorHost);

struct Harmless : Greet, taskexec::Engine<"harmless"> {
    taskexec::json execute(const taskexec::json&) { return "harmless"; }
};
TASKEXEC_ENGINE(Harmless);
}  // namespace plugin_test
