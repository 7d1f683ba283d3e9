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
#include <memory>
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
inline namespace v2 {

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
        return detail::call_engine(route->invoke, payload, ctx);
    }
    // Fallback to "*" for an unregistered type, or an error.
    const detail::Resolved r = detail::resolve_in(ix, workflow, task, engine);
    Context ctx = detail::context_access::make(r.workflow->name, r.task->name(), engine);
    return detail::call_engine(r.engine->invoke, payload, ctx);
}

/// A request resolved once: calling it skips the look-ups. A Route stays
/// valid for the life of the process (registrations are never removed); it
/// keeps calling the engine it resolved even if a plugin loaded later adds a
/// more specific one.
class Route {
public:
    /// Runs the resolved engine on `payload`; errors as executor().
    json operator()(const json& payload) const {
        // The Context is built once, at resolve(): a call is one indirect call.
        return detail::call_engine(invoke_, payload, context_);
    }

    std::string_view workflow() const noexcept { return context_.workflow(); }
    std::string_view task() const noexcept { return context_.task(); }
    /// The engine type that was requested (also when "*" serves it).
    std::string_view engine() const noexcept { return context_.engine(); }

    // The Context's engine name points into this Route's own buffer, so a
    // copy re-points it at the copy's buffer.
    Route(const Route& other) noexcept
        : invoke_(other.invoke_),
          requested_(other.requested_),
          context_(make_context(other.workflow(), other.task(), requested_)) {}
    Route& operator=(const Route& other) noexcept {
        if (this != &other) {
            std::destroy_at(&context_);
            invoke_ = other.invoke_;
            requested_ = other.requested_;
            std::construct_at(&context_, make_context(other.workflow(), other.task(), requested_));
        }
        return *this;
    }
    ~Route() = default;

private:
    friend Route resolve(std::string_view, std::string_view, std::string_view);

    /// The requested engine name, copied: the caller's string may not outlive
    /// the Route. resolve_in only succeeds for valid names, which fit.
    struct NameBuffer {
        explicit NameBuffer(std::string_view name) noexcept
            : size(std::min(name.size(), sizeof(text))) {
            std::copy_n(name.data(), size, text);
        }
        std::string_view view() const noexcept { return {text, size}; }
        char text[detail::max_name_length]{};
        std::size_t size = 0;
    };

    static Context make_context(std::string_view workflow, std::string_view task,
                                const NameBuffer& engine) noexcept {
        return detail::context_access::make(workflow, task, engine.view());
    }

    Route(const detail::Resolved& r, std::string_view requested) noexcept
        : invoke_(r.engine->invoke),
          requested_(requested),
          context_(make_context(r.workflow->name, r.task->name(), requested_)) {}

    detail::InvokeFn invoke_;  ///< the engine entry's, held directly: one load less per call
    NameBuffer requested_;     ///< must precede context_, which points into it
    /// Handed to every call. Mutable because engines take `Context&`; they
    /// cannot change it (no setters, no assignment), so sharing is safe.
    mutable Context context_;
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

}  // namespace v2
}  // namespace taskexec
