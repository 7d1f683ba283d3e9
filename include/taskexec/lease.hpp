// taskexec/lease.hpp — something acquired in one task and released in
// another, with a watchdog so that it is never held forever.
//
//     // quiesce_db: hold the database session until unquiesce_db (or 60 s).
//     auto session = std::make_shared<Session>(connect(p));
//     session->freeze();
//     std::string id = taskexec::acquire_lease(
//         "sqlite quiesce", std::chrono::seconds(60),
//         [session](taskexec::release_reason) { session->thaw(); });
//     return {{"lease_id", id}};
//
//     // unquiesce_db:
//     switch (taskexec::release_lease(p.at("lease_id").get<std::string>())) {
//         case taskexec::release_result::explicit_release: ...  // released now
//         case taskexec::release_result::watchdog: ...          // held too long
//         case taskexec::release_result::already_released: ...  // idempotent
//         case taskexec::release_result::unknown: ...           // never issued
//     }
//
// A lease is released exactly once: by release_lease(), by the watchdog at
// its deadline (within 50 ms, if the release callbacks due before it are
// quick), or at normal process exit — `exit()` or return from `main`, not
// `quick_exit`, `_exit` or a fatal signal.
//
// Threads: the callback runs on the releasing thread (the caller of
// release_lease, the single watchdog thread, or the thread calling exit),
// with no taskexec lock held, so it may call acquire_lease/release_lease.
// An exception it throws is swallowed. A release_lease() that finds the
// lease being released by another thread waits for that callback to finish.
//
// At exit: the release runs from a std::atexit hook registered by the first
// acquire_lease(), so callbacks may use objects with static storage that
// were constructed before that first acquire (exit handlers and static
// destructors run in reverse order of registration). The hook also waits
// for releases in progress on other threads. Leases acquired after the hook
// ran (from a static destructor) are left to the watchdog. A child made by
// fork() does not release its parent's leases when it exits.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <taskexec/detail/lease_table.hpp>
#include <taskexec/detail/lease_types.hpp>

namespace taskexec {
inline namespace v2 {

// release_reason, release_result and their to_string() are defined in
// <taskexec/detail/lease_types.hpp> and are part of this header's API.

/// Takes out a lease that must be released within `max_hold`: `release` is
/// called exactly once — by release_lease(), by the watchdog when max_hold
/// has passed, or at normal process exit — with the reason. Returns its id:
/// 32 lowercase hex characters from 128 bits of std::random_device, so ids
/// cannot be guessed. `description` says what is held (it is kept with the
/// lease, never logged). An empty `release` is allowed and does nothing.
///
/// Throws std::invalid_argument if `max_hold` is not positive, and
/// std::system_error if the watchdog thread cannot be started (first call).
/// [[nodiscard]]: without the id only the watchdog can release the lease.
[[nodiscard]] inline std::string acquire_lease(std::string description,
                                               std::chrono::milliseconds max_hold,
                                               std::function<void(release_reason)> release) {
    return detail::LeaseTable::instance().acquire(std::move(description), max_hold,
                                                  std::move(release));
}

/// Releases the lease `lease_id` now, running its callback on this thread,
/// unless it is already released. Returns `explicit_release` when this call
/// released it, `watchdog` when the watchdog had, `already_released` when an
/// earlier release_lease() (or the exit hook) had, and `unknown` for an id
/// never issued by this process. Never throws because of the id.
inline release_result release_lease(std::string_view lease_id) {
    return detail::LeaseTable::instance().release(lease_id);
}

}  // namespace v2
}  // namespace taskexec
