// One source, built into two plugins: with hidden and with default
// visibility (PLUGIN_ENGINE_TYPE names the engine type). The engine calls
// executor() for the host's own engine: if the plugin had filled a private
// registry, that call would fail with unknown_engine. Likewise a lease it
// takes must be in the host's lease table.
#include "plugin_api.hpp"

namespace plugin_test {

struct GreetFromPlugin : Greet, taskexec::Engine<PLUGIN_ENGINE_TYPE> {
    taskexec::json execute(const taskexec::json& p, taskexec::Context& ctx) {
        // {"lease": true}: take a lease here, for the host to release.
        if (p.contains("lease"))
            return {{"lease_id", taskexec::acquire_lease("plugin session", std::chrono::minutes(5),
                                                         [](taskexec::release_reason) {})}};
        const taskexec::json host = taskexec::executor("pl.wf", "pl.greet", "host", p);
        return {{"engine", ctx.engine()}, {"host_said", host}};
    }
};
TASKEXEC_ENGINE(GreetFromPlugin);

// A task and workflow that only this plugin has.
struct Only : taskexec::Task<"pl.only_" PLUGIN_ENGINE_TYPE> {};
struct OnlyAny : Only, taskexec::any_engine {
    taskexec::json execute(const taskexec::json&) { return PLUGIN_ENGINE_TYPE; }
};
TASKEXEC_ENGINE(OnlyAny);
struct OnlyWf : taskexec::Workflow<"pl.wf_" PLUGIN_ENGINE_TYPE, Only> {};
TASKEXEC_WORKFLOW(OnlyWf);

}  // namespace plugin_test
