// examples/tasks/leased_session.hpp — a database session held quiesced under
// a taskexec lease, released exactly once.
//
// Almost every engine's quiesce belongs to one connection, so quiesce_db
// keeps the connection open after it returns and unquiesce_db must find it
// again by lease id. Three parties may try to end that hold: unquiesce_db
// (explicitly), the lease watchdog at max_hold_ms, and process exit. This
// table makes them agree: each held session has its own mutex and state, and
// whoever takes the mutex first while the session is still held releases it.
//
// How an engine uses it (the session type is the engine's own):
//
//     struct MySession {                       // owns the connection
//         void abandon() noexcept;             // watchdog / exit: roll back or unlock, close
//     };
//     inline LeaseTable<MySession>& my_leases() {   // one table per engine type
//         static auto* table = new LeaseTable<MySession>("myengine");  // never destroyed
//         return *table;
//     }
//
//     // quiesce_db: acquire on a session; on failure its destructor cleans up.
//     auto session = std::make_unique<MySession>(...);       // connect, lock
//     std::string id = my_leases().hold(std::move(session), max_hold);   // last step
//
//     // unquiesce_db: the standard result or the standard errors.
//     return my_leases().unquiesce(params, ctx.stop_token(), [&](MySession& s) {
//         s.unlock();                      // the engine's explicit release; may throw
//         return json{{"stop_lsn", ...}};  // merged into the result
//     });
//
// What unquiesce() returns or throws (EXAMPLES.md):
//   no lease id                    -> {"released_by": "none"}: a harmless no-op
//   id this table never issued     -> db_error not_quiesced
//   held                           -> runs the release function on the holder
//                                     session, then retires the lease
//                                     (release_lease): {"released_by": "explicit"};
//                                     then, given snapshot_files' result (sealed:
//                                     false), seals the copy taken under the lease
//                                     in snapshot_dir (snapshot_seal.hpp): "snapshot"
//   released earlier by unquiesce  -> {"released_by": "already_released"}; nothing
//                                     is sent to the server again
//   released by the watchdog       -> db_error hold_expired (a copy taken under
//                                     the lease is not valid), every time
//   the session ended on its own   -> db_error session_lost (the release function
//                                     threw session_lost, or the process is exiting)
// Every result has lease_id, engine, elapsed_ms, held_ms (from hold() to the
// release) and released_by.
//
// Session requirements: `void abandon() noexcept` — release without ceremony
// (watchdog, process exit, or a release_lease() call from outside the table).
// The Session object is destroyed right after any release, so its destructor
// must close what is left (that is also what makes a failed release safe).
//
// Thread safety: every member may be called from any thread. No table lock is
// held while a session or the lease library runs; a session's own mutex is
// held while it is released, so a watchdog firing during an explicit release
// waits for it and then finds nothing to do. Entries stay in the table after
// release (a few dozen bytes each, without the session) so a repeated
// unquiesce can tell "already released" from "unknown".
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <taskexec/lease.hpp>
#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "snapshot_seal.hpp"

namespace taskexec_examples {

/// Who ended a hold.
enum class released_by { explicit_release, watchdog, session_end };

/// "explicit" | "watchdog" | "session_end", the words of the results.
constexpr std::string_view to_string(released_by by) noexcept {
    switch (by) {
        case released_by::explicit_release: return "explicit";
        case released_by::watchdog: return "watchdog";
        case released_by::session_end: return "session_end";
    }
    return "unknown";
}

/// What LeaseTable::release() found or did.
struct ReleaseOutcome {
    released_by by = released_by::explicit_release;  ///< who released it
    bool by_this_call = false;  ///< this call ran the release (else: it was released before)
    double held_ms = 0;         ///< from hold() to the release
    taskexec::json details = taskexec::json::object();  ///< the release function's result
};

/// Held sessions of one engine type, by lease id. See the header comment.
template <class Session>
class LeaseTable {
public:
    using clock = std::chrono::steady_clock;

    /// `engine`: the engine type, used in results, errors and the lease description.
    explicit LeaseTable(std::string engine) : engine_(std::move(engine)) {}
    LeaseTable(const LeaseTable&) = delete;
    LeaseTable& operator=(const LeaseTable&) = delete;

    const std::string& engine() const noexcept { return engine_; }

    /// Takes ownership of a session that holds the database and starts its
    /// lease; returns the lease id. Call it last in quiesce_db: from here on
    /// the watchdog may release the session at any moment. Throws what
    /// acquire_lease throws (the session is then released by its destructor).
    std::string hold(std::unique_ptr<Session> session, std::chrono::milliseconds max_hold) {
        auto entry = std::make_shared<Entry>(std::move(session));
        // The callback owns the entry, not the table: it may run at process
        // exit, and before hold() has even stored the id (a tiny max_hold).
        std::string id = taskexec::acquire_lease(
            engine_ + " quiesce_db", max_hold,
            [entry](taskexec::release_reason reason) { entry->release_passively(reason); });
        std::lock_guard lock(mutex_);
        entries_.emplace(id, std::move(entry));
        return id;
    }

    /// Whether any session still held satisfies `pred` (e.g. "holds this
    /// file"), so quiesce_db can say already_quiesced instead of waiting.
    bool any_held(const std::function<bool(const Session&)>& pred) const {
        for (const auto& entry : snapshot()) {
            std::lock_guard lock(entry->mutex);
            if (entry->session && pred(*entry->session)) return true;
        }
        return false;
    }

    /// Whether `lease_id` was issued by this table (held or released).
    bool knows(std::string_view lease_id) const { return find(lease_id) != nullptr; }

    /// Releases a held session with `release_fn(Session&) -> json` on the
    /// caller's thread, or reports who released it before. nullopt for an id
    /// this table never issued. If release_fn throws, the session is still
    /// destroyed and the lease retired, then the exception propagates; a
    /// db_error of kind session_lost records the release as session_end.
    template <class Fn>
    std::optional<ReleaseOutcome> release(std::string_view lease_id, Fn&& release_fn) {
        std::shared_ptr<Entry> entry = find(lease_id);
        if (!entry) return std::nullopt;
        ReleaseOutcome out;
        std::exception_ptr failure;
        {
            std::lock_guard lock(entry->mutex);
            if (entry->by) {
                out.by = *entry->by;
                out.held_ms = entry->held_ms;
                return out;
            }
            out.by_this_call = true;
            out.by = released_by::explicit_release;
            try {
                taskexec::json details = release_fn(*entry->session);
                if (details.is_object()) out.details = std::move(details);
            } catch (const db_error& e) {
                if (e.kind() == db_error_kind::session_lost) out.by = released_by::session_end;
                failure = std::current_exception();
            } catch (...) {
                failure = std::current_exception();
            }
            entry->finish(out.by);
            out.held_ms = entry->held_ms;
        }
        // Outside the entry's mutex: the lease library calls our callback,
        // which takes that mutex and finds the session already released.
        taskexec::release_lease(lease_id);
        if (failure) std::rethrow_exception(failure);
        return out;
    }

    /// unquiesce_db's standard result or error (see the header comment).
    /// `stop` (the step's Context::stop_token()) stops only the seal: the
    /// release itself always runs to the end.
    template <class Fn>
    taskexec::json unquiesce(const UnquiesceParams& params, std::stop_token stop, Fn&& release_fn) {
        const std::string_view lease_id = params.lease_id;
        const auto start = clock::now();
        taskexec::json out = {{"lease_id", lease_id}, {"engine", engine_}};
        if (lease_id.empty()) {
            out["released_by"] = "none";
            out["held_ms"] = 0;
            out["elapsed_ms"] = ms_since(start);
            return out;
        }
        std::optional<ReleaseOutcome> outcome = release(lease_id, std::forward<Fn>(release_fn));
        if (!outcome)
            throw db_error(db_error_kind::not_quiesced, where("lookup"), "",
                           "unknown lease id: this engine never issued it (leases do not "
                           "outlive the process that took them)",
                           false);
        if (!outcome->by_this_call && outcome->by == released_by::watchdog)
            throw db_error(db_error_kind::hold_expired, where("lookup"), "",
                           "the watchdog released the lease at max_hold_ms after " +
                               std::to_string(static_cast<long long>(outcome->held_ms)) +
                               " ms (released_by: watchdog); a copy taken under it is not valid",
                           false);
        if (outcome->by == released_by::session_end)
            throw db_error(db_error_kind::session_lost, where("lookup"), "",
                           "the holder session ended before the release (released_by: "
                           "session_end); a copy taken under it is not valid",
                           false);
        out.update(outcome->details);
        out["released_by"] =
            outcome->by_this_call ? std::string(to_string(outcome->by)) : "already_released";
        out["held_ms"] = outcome->held_ms;
        // Writers are flowing again: now hash and sync the copy (only this
        // call's release counts; a repeat finds the snapshot sealed or not).
        if (outcome->by_this_call && outcome->by == released_by::explicit_release && !params.sealed)
            if (auto sealed = seal_snapshot(params.snapshot_dir, lease_id, where("seal"), stop))
                out["snapshot"] = std::move(*sealed);
        out["elapsed_ms"] = ms_since(start);
        return out;
    }

    /// Milliseconds from `start` to now, as results report durations.
    static double ms_since(clock::time_point start) {
        return std::chrono::duration<double, std::milli>(clock::now() - start).count();
    }

private:
    struct Entry {
        explicit Entry(std::unique_ptr<Session> s) : session(std::move(s)) {}

        // Records the release and destroys the session (closing what is
        // left). Called with `mutex` held.
        void finish(released_by who) noexcept {
            by = who;
            held_ms = ms_since(held_since);
            session.reset();
        }

        // The lease callback: watchdog, process exit, or release_lease()
        // called by someone else. A no-op if the session is already released.
        void release_passively(taskexec::release_reason reason) noexcept {
            std::lock_guard lock(mutex);
            if (by) return;
            if (session) session->abandon();
            finish(reason == taskexec::release_reason::watchdog ? released_by::watchdog
                   : reason == taskexec::release_reason::process_exit
                       ? released_by::session_end
                       : released_by::explicit_release);
        }

        std::mutex mutex;
        std::unique_ptr<Session> session;  // null once released
        std::optional<released_by> by;     // set once released
        clock::time_point held_since = clock::now();
        double held_ms = 0;
    };

    std::shared_ptr<Entry> find(std::string_view lease_id) const {
        std::lock_guard lock(mutex_);
        const auto it = entries_.find(std::string(lease_id));
        return it == entries_.end() ? nullptr : it->second;
    }

    std::vector<std::shared_ptr<Entry>> snapshot() const {
        std::lock_guard lock(mutex_);
        std::vector<std::shared_ptr<Entry>> out;
        out.reserve(entries_.size());
        for (const auto& kv : entries_) out.push_back(kv.second);
        return out;
    }

    db_where where(std::string step) const { return {engine_, "unquiesce_db", std::move(step)}; }

    std::string engine_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;
};

}  // namespace taskexec_examples
