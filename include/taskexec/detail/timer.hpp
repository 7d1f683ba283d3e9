// taskexec/detail/timer.hpp — one shared thread that signals run deadlines.
//
//     struct StepDeadline final : detail::Alarm {
//         void fire() noexcept override { source.request_stop(); }
//         std::stop_source source;
//     } alarm;
//     detail::DeadlineTimer::instance().arm(alarm, deadline);
//     ...                                              // the step runs
//     detail::DeadlineTimer::instance().disarm(alarm); // before `alarm` dies
//
// Workflow runs need someone to signal a stop token at a deadline while the
// run's own thread is busy inside an engine. A thread per step would cost a
// thread start per step; instead every run in the process shares one timer
// thread, started on first use, and a run without timeouts never touches it.
//
// Lifetime: the timer is constructed on first use and never destroyed, and
// its thread is detached: joining it from a static destructor could deadlock
// or race other destructors, while an idle detached thread blocked on a
// condition variable of a never-destroyed object is harmless at exit.
//
// Thread safety: arm() and disarm() may be called from any thread. fire()
// runs on the timer thread with no lock held, so it may itself arm alarms;
// it should be quick, because it delays every other deadline in the process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace taskexec {
inline namespace v2 {
namespace detail {

using steady_time = std::chrono::steady_clock::time_point;

/// `start + span`, or time_point::max() if that does not fit: a user may ask
/// for a timeout of milliseconds::max(), and the clock counts nanoseconds.
inline steady_time saturating_add(steady_time start, std::chrono::milliseconds span) noexcept {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto room = steady_time::max() - start;
    if (span >= duration_cast<milliseconds>(room)) return steady_time::max();
    return start + span;
}

/// Something the DeadlineTimer signals at a time. The owner keeps it alive
/// and does not move it while it is armed.
class Alarm {
public:
    Alarm() = default;
    Alarm(const Alarm&) = delete;
    Alarm& operator=(const Alarm&) = delete;

    /// Called once, on the timer thread, when the armed time has come.
    virtual void fire() noexcept = 0;

protected:
    ~Alarm() = default;

private:
    friend class DeadlineTimer;
    std::multimap<steady_time, Alarm*>::iterator slot_;
    bool armed_ = false;
};

/// The process-wide timer thread of workflow runs.
class DeadlineTimer {
public:
    /// The timer, constructed on first use and never destroyed.
    static DeadlineTimer& instance() {
        static auto* const timer = new DeadlineTimer();  // never destroyed, by design
        return *timer;
    }

    DeadlineTimer(const DeadlineTimer&) = delete;
    DeadlineTimer& operator=(const DeadlineTimer&) = delete;

    /// Starts the timer thread if it is not running. Runs call this before
    /// their first step, so a failure to start a thread (std::system_error)
    /// surfaces before anything has run that would need undoing.
    void start() {
        std::lock_guard lock(mutex_);
        start_locked();
    }

    /// Makes `alarm` fire at `when` (re-arming it if it is armed).
    void arm(Alarm& alarm, steady_time when) {
        std::unique_lock lock(mutex_);
        start_locked();
        if (std::this_thread::get_id() != thread_id_)
            fired_.wait(lock, [&] { return firing_ != &alarm; });
        if (alarm.armed_) queue_.erase(alarm.slot_);
        alarm.armed_ = false;
        const bool earliest = queue_.empty() || when < queue_.begin()->first;
        alarm.slot_ = queue_.emplace(when, &alarm);
        alarm.armed_ = true;
        // Only a new earliest deadline changes how long the thread sleeps.
        if (earliest) wake_.notify_one();
    }

    /// Cancels `alarm`. When this returns, the alarm is not firing and will
    /// not fire, so its owner may destroy it. Waits if it is firing right
    /// now — unless called from the timer thread itself (from a fire()).
    void disarm(Alarm& alarm) noexcept {
        std::unique_lock lock(mutex_);
        if (alarm.armed_) queue_.erase(alarm.slot_);
        alarm.armed_ = false;
        if (std::this_thread::get_id() != thread_id_)
            fired_.wait(lock, [&] { return firing_ != &alarm; });
    }

private:
    DeadlineTimer() = default;
    ~DeadlineTimer() = default;

    void start_locked() {
        if (started_) return;
        std::thread thread([this] { loop(); });
        thread_id_ = thread.get_id();
        thread.detach();
        started_ = true;
    }

    void loop() noexcept {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (queue_.empty()) {
                wake_.wait(lock);
                continue;
            }
            const steady_time due = queue_.begin()->first;
            if (due == steady_time::max()) {
                wake_.wait(lock);  // never due; only an earlier alarm matters
                continue;
            }
            if (std::chrono::steady_clock::now() < due) {
                wake_.wait_until(lock, due);
                continue;  // re-read: the queue may have changed meanwhile
            }
            Alarm* alarm = queue_.begin()->second;
            queue_.erase(queue_.begin());
            alarm->armed_ = false;
            firing_ = alarm;
            // fire() runs unlocked: it signals stop tokens, which run the
            // engines' stop callbacks — user code that may start a run.
            lock.unlock();
            alarm->fire();
            lock.lock();
            firing_ = nullptr;
            fired_.notify_all();
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;   // the thread: the earliest deadline changed
    std::condition_variable fired_;  // disarm(): the alarm firing has finished
    std::multimap<steady_time, Alarm*> queue_;
    Alarm* firing_ = nullptr;
    bool started_ = false;
    std::thread::id thread_id_;
};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
