// taskexec/context.hpp — what a running engine may read about its call.
//
//     Result execute(const Payload& p, taskexec::Context& ctx) {
//         while (!done) {
//             if (ctx.stop_token().stop_requested()) throw std::runtime_error("stopped");
//             ...
//         }
//     }
//
// Engines must not keep references to their Context beyond the call: a
// run's Context lives for one step, a Route's as long as the Route.
#pragma once

#include <chrono>
#include <stop_token>
#include <string_view>

#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {
struct context_access;
}

/// The request an engine is serving, and when it should stop.
///
/// Copyable but not assignable: a Route keeps one Context that every call
/// (possibly on several threads at once) is handed, so nothing may write to it.
class Context {
public:
    using clock = std::chrono::steady_clock;

    Context(const Context&) = default;
    Context(Context&&) noexcept = default;
    Context& operator=(const Context&) = delete;

    /// The workflow named in the request.
    std::string_view workflow() const noexcept { return workflow_; }
    /// The task being run.
    std::string_view task() const noexcept { return task_; }
    /// The engine type requested — also when the "*" fallback serves it.
    std::string_view engine() const noexcept { return engine_; }
    /// Signalled on cancellation or when the deadline passes (workflow runs);
    /// never signalled for a plain executor() call.
    std::stop_token stop_token() const noexcept { return stop_; }
    /// When the call should be done by; time_point::max() if there is none.
    clock::time_point deadline() const noexcept { return deadline_; }

private:
    friend struct detail::context_access;
    Context(std::string_view workflow, std::string_view task, std::string_view engine) noexcept
        : workflow_(workflow), task_(task), engine_(engine) {}

    std::string_view workflow_;
    std::string_view task_;
    std::string_view engine_;
    std::stop_token stop_;
    clock::time_point deadline_ = clock::time_point::max();
};

namespace detail {
/// How taskexec itself builds contexts; not for users.
struct context_access {
    static Context make(std::string_view workflow, std::string_view task,
                        std::string_view engine) noexcept {
        return Context(workflow, task, engine);
    }
    static Context make(std::string_view workflow, std::string_view task, std::string_view engine,
                        std::stop_token stop, Context::clock::time_point deadline) noexcept {
        Context ctx(workflow, task, engine);
        ctx.stop_ = std::move(stop);
        ctx.deadline_ = deadline;
        return ctx;
    }
};
}  // namespace detail

}  // namespace v2
}  // namespace taskexec
