// taskexec/detail/lease_table.hpp — the process-wide table of leases and its
// watchdog.
//
//     LeaseTable& t = LeaseTable::instance();
//     std::string id = t.acquire("db quiesced", 60s, [](release_reason) { ... });
//     t.release(id);   // -> release_result::explicit_release
//
// Exactly-once release: a lease moves active -> releasing -> released under
// the table's mutex, and only the thread that moved it out of `active_` runs
// its callback — the caller, the watchdog or the exiting thread, whichever
// got there first. Callbacks run with no lock held, so they may call the
// lease functions; a release_lease() that meets a lease being released by
// another thread waits until that release has finished, so when it returns
// the resource really is released.
//
// Lifetime: the table is constructed on first use and never destroyed; the
// watchdog thread is started by the first acquire and detached (never
// joined, so static destruction cannot deadlock on it). The first acquire
// also registers a std::atexit hook that releases what is still held, with
// release_reason::process_exit.
//
// Memory: a released lease leaves its 16-byte id and how it was released
// behind (about 50 bytes), so that release_lease() can still tell
// `watchdog` and `already_released` from `unknown` for the life of the
// process.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__unix__)
#include <unistd.h>
#endif

#include <taskexec/detail/lease_types.hpp>
#include <taskexec/detail/timer.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// The leases of the process (see the file comment); acquire_lease() and
/// release_lease() are its public face.
class LeaseTable {
public:
    using clock = std::chrono::steady_clock;
    using callback = std::function<void(release_reason)>;

    /// The table this module uses. A plugin built with hidden visibility has
    /// a private one until forward_to() points it at the host's (as the
    /// registry does), so ids issued on either side are known to both.
    static LeaseTable& instance() {
        static auto* const local = new LeaseTable();  // never destroyed, by design
        LeaseTable* target = local->forward_.load(std::memory_order_acquire);
        return target != nullptr ? *target : *local;
    }

    /// Makes this (private) table forward to `host` from now on.
    void forward_to(LeaseTable* host) noexcept { forward_.store(host, std::memory_order_release); }

    LeaseTable(const LeaseTable&) = delete;
    LeaseTable& operator=(const LeaseTable&) = delete;

    /// See acquire_lease().
    std::string acquire(std::string description, std::chrono::milliseconds max_hold,
                        callback release) {
        if (max_hold <= std::chrono::milliseconds::zero())
            throw std::invalid_argument("taskexec::acquire_lease: max_hold must be positive");
        std::unique_lock lock(mutex_);
        start_locked();
        LeaseKey key;
        do key = random_key(random_);
        while (known(key));
        const steady_time deadline = saturating_add(clock::now(), max_hold);
        const auto slot = deadlines_.emplace(deadline, key).first;
        try {
            active_.emplace(key, Lease{std::move(description), slot, std::move(release)});
        } catch (...) {
            deadlines_.erase(slot);
            throw;
        }
        // Only a new earliest deadline changes how long the watchdog sleeps.
        if (slot == deadlines_.begin()) wake_.notify_one();
        return to_hex(key);
    }

    /// See release_lease().
    release_result release(std::string_view id) {
        LeaseKey key;
        if (!parse_hex(id, key)) return release_result::unknown;
        std::unique_lock lock(mutex_);
        for (;;) {
            if (auto it = active_.find(key); it != active_.end()) {
                run_release(lock, take(it), release_reason::explicit_release);
                return release_result::explicit_release;
            }
            if (const InFlight* f = in_flight(key)) {
                // Being released by another thread: report it once it is
                // done. Its own callback asking gets the answer at once.
                if (f->thread == std::this_thread::get_id()) return result_of(f->reason);
                done_.wait(lock);
                continue;
            }
            if (auto it = released_.find(key); it != released_.end()) return result_of(it->second);
            return release_result::unknown;
        }
    }

    /// The std::atexit hook: releases every lease still held, on the exiting
    /// thread, then waits for releases other threads have in progress, so
    /// none is cut short by the process ending.
    void release_all_at_exit() noexcept {
#if defined(__unix__)
        // A child made by fork() without exec inherits the table and this
        // hook, but the leases are its parent's: releasing them from here
        // (a ROLLBACK on a shared socket) would break the parent's hold.
        if (::getpid() != owner_) return;
#endif
        try {
            std::unique_lock lock(mutex_);
            while (!active_.empty())
                run_release(lock, take(active_.begin()), release_reason::process_exit);
            const auto self = std::this_thread::get_id();
            done_.wait(lock, [&] {
                return std::none_of(in_flight_.begin(), in_flight_.end(),
                                    [&](const InFlight& f) { return f.thread != self; });
            });
        } catch (...) {}
    }

private:
    struct Lease {
        std::string description;  // for a debugger; never logged (it may name things)
        std::set<std::pair<steady_time, LeaseKey>>::iterator deadline;
        callback release;
    };
    struct InFlight {
        LeaseKey key;
        release_reason reason;
        std::thread::id thread;
    };

    LeaseTable() = default;
    ~LeaseTable() = default;

    static release_result result_of(release_reason r) noexcept {
        return r == release_reason::watchdog ? release_result::watchdog
                                             : release_result::already_released;
    }

    bool known(const LeaseKey& key) const {
        return active_.contains(key) || released_.contains(key) || in_flight(key) != nullptr;
    }

    const InFlight* in_flight(const LeaseKey& key) const noexcept {
        for (const InFlight& f : in_flight_)
            if (f.key == key) return &f;
        return nullptr;
    }

    // Moves a lease out of `active_`: from here on, only the caller may run
    // its callback. Must be followed by run_release().
    std::pair<LeaseKey, callback> take(
        std::unordered_map<LeaseKey, Lease, LeaseKeyHash>::iterator it) {
        std::pair<LeaseKey, callback> out{it->first, std::move(it->second.release)};
        deadlines_.erase(it->second.deadline);
        active_.erase(it);
        return out;
    }

    // Runs a taken lease's callback unlocked and records the release.
    void run_release(std::unique_lock<std::mutex>& lock, std::pair<LeaseKey, callback> taken,
                     release_reason reason) noexcept {
        try {
            in_flight_.push_back({taken.first, reason, std::this_thread::get_id()});
        } catch (...) {
            // Without the marker a concurrent release_lease() would answer
            // `unknown` meanwhile; still release, exactly once.
        }
        lock.unlock();
        {
            callback release = std::move(taken.second);
            try {
                if (release) release(reason);
            } catch (...) {
                // Swallowed by contract: a failing release must not take
                // the watchdog thread (or exit) down with it.
            }
        }  // the callback's captures are destroyed unlocked too
        lock.lock();
        std::erase_if(in_flight_, [&](const InFlight& f) { return f.key == taken.first; });
        try {
            released_.emplace(taken.first, reason);
        } catch (...) {}
        done_.notify_all();
    }

    void start_locked() {
        if (started_) return;
        std::thread([this] { watch(); }).detach();
        started_ = true;
#if defined(__unix__)
        owner_ = ::getpid();
#endif
        // Registered after the thread, once: exit handlers run in reverse
        // order of registration, so this one runs before the destructors of
        // statics that existed when the first lease was taken.
        std::atexit([] { LeaseTable::instance().release_all_at_exit(); });
    }

    void watch() noexcept {
        std::unique_lock lock(mutex_);
        for (;;) {
            if (deadlines_.empty()) {
                wake_.wait(lock);
                continue;
            }
            const auto [due, key] = *deadlines_.begin();
            if (due == steady_time::max()) {
                wake_.wait(lock);  // a hold too long for the clock: no deadline
                continue;
            }
            if (clock::now() < due) {
                wake_.wait_until(lock, due);
                continue;  // re-read: leases may have come or gone meanwhile
            }
            run_release(lock, take(active_.find(key)), release_reason::watchdog);
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;  // the watchdog: the earliest deadline changed
    std::condition_variable done_;  // a release finished
    std::unordered_map<LeaseKey, Lease, LeaseKeyHash> active_;
    std::set<std::pair<steady_time, LeaseKey>> deadlines_;
    std::vector<InFlight> in_flight_;
    std::unordered_map<LeaseKey, release_reason, LeaseKeyHash> released_;
    std::random_device random_;
    bool started_ = false;
#if defined(__unix__)
    pid_t owner_ = 0;  // the process whose leases these are
#endif
    std::atomic<LeaseTable*> forward_{nullptr};
};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
