// taskexec/executor.hpp — dispatching a request to its registered engine.
//
//     json r = taskexec::executor("sales", "quiesce_db", "postgres", payload);
//
//     auto route = taskexec::resolve("sales", "quiesce_db", "postgres");
//     for (const json& p : payloads) route(p);   // resolved once, called many times
//
// Thread safety: executor(), resolve() and Route calls may run concurrently
// with each other and with registrations (including a plugin load). No lock
// is held while the engine runs, so an engine may call executor() itself.
// A dispatch allocates nothing on the heap beyond what the engine does.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <taskexec/context.hpp>
#include <taskexec/detail/dispatch_errors.hpp>
#include <taskexec/detail/index.hpp>
#include <taskexec/detail/registry.hpp>
#include <taskexec/detail/resolve.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v1 {

/// Runs `task` of `workflow` with the engine of type `engine` (or the task's
/// "*" fallback) on `payload`, and returns the engine's result as JSON.
///
/// Throws taskexec::error: unknown_workflow, task_not_in_workflow,
/// unknown_engine, registration_conflict, invalid_payload, task_failed.
inline json executor(std::string_view workflow, std::string_view task, std::string_view engine,
                     const json& payload) {
    const detail::Index& ix = detail::Registry::instance().index();
    const detail::RouteEntry* route = ix.find_route(workflow, task, engine);
    if (TASKEXEC_INTERNAL_LIKELY(route != nullptr)) {
        Context ctx = detail::context_access::make(workflow, task, engine);
        return route->invoke(payload, ctx, detail::dispatch_support);
    }
    // Fallback to "*" for an unregistered type, or an error.
    const detail::Resolved r = detail::resolve_in(ix, workflow, task, engine);
    Context ctx = detail::context_access::make(r.workflow->name, r.task->name(), engine);
    return r.engine->invoke(payload, ctx, detail::dispatch_support);
}

/// A request resolved once: calling it skips the look-ups. A Route stays
/// valid for the life of the process (registrations are never removed); it
/// keeps calling the engine it resolved even if a plugin loaded later adds a
/// more specific one.
class Route {
public:
    /// Runs the resolved engine on `payload`; errors as executor().
    json operator()(const json& payload) const {
        Context ctx = detail::context_access::make(workflow_, task_, engine());
        return invoke_(payload, ctx, detail::dispatch_support);
    }

    std::string_view workflow() const noexcept { return workflow_; }
    std::string_view task() const noexcept { return task_; }
    /// The engine type that was requested (also when "*" serves it).
    std::string_view engine() const noexcept { return {requested_, requested_size_}; }

private:
    friend Route resolve(std::string_view, std::string_view, std::string_view);

    Route(const detail::Resolved& r, std::string_view requested) noexcept
        : invoke_(r.engine->invoke), workflow_(r.workflow->name), task_(r.task->name()) {
        // resolve_in only succeeds for valid names, which fit the buffer.
        requested_size_ = std::min(requested.size(), sizeof(requested_));
        std::copy_n(requested.data(), requested_size_, requested_);
    }

    detail::InvokeFn invoke_;  ///< the engine entry's, held directly: one load less per call
    std::string_view workflow_;
    std::string_view task_;
    char requested_[detail::max_name_length]{};
    std::size_t requested_size_ = 0;
};

/// Resolves a request now, so that later calls cost only the engine's call.
/// Throws as executor() does for the look-up errors.
inline Route resolve(std::string_view workflow, std::string_view task, std::string_view engine) {
    const detail::Index& ix = detail::Registry::instance().index();
    return Route(detail::resolve_in(ix, workflow, task, engine), engine);
}

/// Throws registration_conflict naming every recorded conflict and its
/// sites; returns if there is none. For hosts that prefer to fail at start.
inline void verify() {
    const detail::Index& ix = detail::Registry::instance().index();
    if (ix.conflicts.empty()) return;
    std::string message =
        "taskexec: " + std::to_string(ix.conflicts.size()) + " registration conflict(s): ";
    json list = json::array();
    for (std::size_t i = 0; i < ix.conflicts.size(); ++i) {
        const detail::Conflict& c = *ix.conflicts[i];
        if (i > 0) message += "; ";
        message += c.kind + " " + detail::quote_name(c.name) + " at " + c.sites_text();
        list.push_back({{"kind", c.kind}, {"name", c.name}});
    }
    throw error(errc::registration_conflict, message, {{"conflicts", std::move(list)}});
}

}  // namespace v1
}  // namespace taskexec
