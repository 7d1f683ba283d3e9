// taskexec/detail/run_stop.hpp — when the steps of one workflow run must stop.
//
//     RunStop stop(options.stop, options.step_timeout, options.run_timeout, now);
//     if (stop_cause c = stop.before_step(); c != stop_cause::none) ...  // not started
//     steady_time deadline = stop.begin_step(start);
//     Context ctx = context_access::make(w, t, e, stop.token(), deadline);
//     json r = call_engine(entry->invoke, input, ctx);
//     stop_cause c = stop.end_step(steady_clock::now());  // timed_out even with a result
//
// One stop source serves every step of a run: once it is signalled the run
// ends (later steps are skipped), so it never needs resetting. Which cause
// came first — deadline or external stop — is recorded in an atomic, so the
// step is reported by the first one.
//
// Cost: a run without timeouts allocates nothing here and never touches the
// timer; its steps see the external token itself (or an empty one). Only
// with a timeout is there a stop source (one allocation) and an alarm on the
// shared DeadlineTimer thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stop_token>

#include <taskexec/detail/timer.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// Why a step stopped, if it did.
enum class stop_cause : std::uint8_t { none, timed_out, cancelled };

/// The stop token, deadlines and stop cause of a run's steps (or of one
/// compensation, which gets its own). Not movable: the timer and the stop
/// callback point at it.
// NOLINTNEXTLINE(cppcoreguidelines-virtual-class-destructor): final, never deleted as an Alarm
class RunStop final : public Alarm {
public:
    using milliseconds = std::chrono::milliseconds;

    /// `external` may be empty; a timeout of 0 means none. `start` is only
    /// read with a run_timeout.
    RunStop(std::stop_token external, milliseconds step_timeout, milliseconds run_timeout,
            steady_time start)
        : external_(std::move(external)), step_timeout_(step_timeout) {
        if (run_timeout > milliseconds::zero()) run_deadline_ = saturating_add(start, run_timeout);
        if (step_timeout_ <= milliseconds::zero() && run_deadline_ == steady_time::max()) return;
        DeadlineTimer::instance().start();  // fails here, before any step ran
        source_.emplace();
        if (external_.stop_possible()) forward_.emplace(external_, Forward{this});
        // Without a step timeout the deadline is the same for every step:
        // arm it once, so it also ends the run between two steps.
        if (step_timeout_ <= milliseconds::zero()) {
            DeadlineTimer::instance().arm(*this, run_deadline_);
            run_alarm_ = true;
        }
    }

    ~RunStop() {
        if (source_) DeadlineTimer::instance().disarm(*this);
    }

    RunStop(const RunStop&) = delete;
    RunStop& operator=(const RunStop&) = delete;

    /// The token a step's Context carries.
    std::stop_token token() const noexcept { return source_ ? source_->get_token() : external_; }

    /// Whether the run is already stopped or out of time, before a step.
    /// Reads the clock only if there is a run deadline: at ~40 ns a read,
    /// the clock is a large part of what a run adds to its steps.
    stop_cause before_step() noexcept {
        if (const stop_cause c = cause_.load(std::memory_order_acquire); c != stop_cause::none)
            return c;
        if (external_.stop_requested()) return record(stop_cause::cancelled);
        if (run_deadline_ != steady_time::max() &&
            std::chrono::steady_clock::now() >= run_deadline_) {
            step_bound_ = false;
            return record(stop_cause::timed_out);
        }
        return stop_cause::none;
    }

    /// Arms the deadline of a step starting at `start` and returns it: the
    /// earlier of start + step_timeout and the run's deadline.
    steady_time begin_step(steady_time start) {
        step_deadline_ = run_deadline_;
        step_bound_ = false;
        if (step_timeout_ > milliseconds::zero()) {
            const steady_time own = saturating_add(start, step_timeout_);
            step_bound_ = own < run_deadline_;
            step_deadline_ = std::min(own, run_deadline_);
            if (step_deadline_ != steady_time::max())
                DeadlineTimer::instance().arm(*this, step_deadline_);
        }
        return step_deadline_;
    }

    /// Classifies a step that returned (or threw) at `end`. A step counts as
    /// stopped if its token was signalled or its deadline passed before it
    /// returned — whether or not the timer thread had got round to it.
    stop_cause end_step(steady_time end) noexcept {
        // Per-step alarms go now, so a late firing cannot hit the next step.
        if (source_ && !run_alarm_) DeadlineTimer::instance().disarm(*this);
        if (const stop_cause c = cause_.load(std::memory_order_acquire); c != stop_cause::none)
            return c;
        if (external_.stop_requested()) return record(stop_cause::cancelled);
        if (end >= step_deadline_) return record(stop_cause::timed_out);
        return stop_cause::none;
    }

    /// Whether the current step's deadline came from step_timeout (else
    /// from run_timeout); for the error message.
    bool step_bound() const noexcept { return step_bound_; }
    /// The current step's deadline; time_point::max() if it has none.
    steady_time step_deadline() const noexcept { return step_deadline_; }

    /// The timer thread: the deadline passed.
    void fire() noexcept override { signal(stop_cause::timed_out); }

private:
    // Forwards an external stop to this run's own source.
    struct Forward {
        RunStop* self;
        void operator()() const noexcept { self->signal(stop_cause::cancelled); }
    };

    void signal(stop_cause cause) noexcept {
        record(cause);
        source_->request_stop();
    }

    // The first cause wins; returns the one that did.
    stop_cause record(stop_cause cause) noexcept {
        stop_cause expected = stop_cause::none;
        if (cause_.compare_exchange_strong(expected, cause, std::memory_order_acq_rel))
            return cause;
        return expected;
    }

    std::stop_token external_;
    milliseconds step_timeout_;
    steady_time run_deadline_ = steady_time::max();
    steady_time step_deadline_ = steady_time::max();
    bool step_bound_ = false;
    bool run_alarm_ = false;
    std::atomic<stop_cause> cause_{stop_cause::none};
    std::optional<std::stop_source> source_;
    // Declared after source_, so it is destroyed (unregistered) first.
    std::optional<std::stop_callback<Forward>> forward_;
};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
