// examples/tasks/mongo_engine.cpp — quiesce_db / unquiesce_db for MongoDB.
//
// Quiesce: `fsync` with `lock: true` flushes and blocks writes on the
// server. Unlike the SQL engines, the lock belongs to the SERVER, not to our
// connection: it survives a disconnect, and it is counted — every lock needs
// its own fsyncUnlock. So:
//   - the lease sends exactly one fsyncUnlock, whoever releases it
//     (unquiesce, watchdog, process exit, or a quiesce failing after the
//     lock), and never a second one;
//   - if lockCount > 1 right after our lock, someone else holds it too: a
//     copy cannot know when they unlock, so we unlock ours once and fail
//     with already_quiesced;
//   - a lost answer to fsyncUnlock is reported as may-be-frozen, never
//     retried (a retry could remove somebody else's lock).
// Acquisition is bounded on the server with fsyncLockAcquisitionTimeoutMillis
// (MongoDB 7.0.2+, 6.0.11+, 5.0.22+); servers that reject the field as
// unknown (code 40415) get the command again without it, bounded then only
// by the client's socket timeout.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"
#include "mongo_transport.hpp"
#include "server_common.hpp"

namespace taskexec_examples {
namespace {

using mongo::CommandError;
using mongo::Document;
using mongo::failure_kind;
using clock_type = std::chrono::steady_clock;

constexpr int idl_unknown_field = 40415;  // "BSON field ... is an unknown field"

std::string native(const CommandError& e) {
    if (e.kind() != failure_kind::server) return "driver " + std::to_string(e.code());
    return "code " + std::to_string(e.code()) +
           (e.code_name().empty() ? std::string() : " (" + e.code_name() + ")");
}

/// The classified error for a failed fsync (lock) command.
db_error lock_failure(const CommandError& e, const db_where& where) {
    switch (e.kind()) {
        case failure_kind::config: return server::config_error(where, e.what());
        case failure_kind::auth:
            return db_error(db_error_kind::permission, where, native(e), e.what(), false);
        case failure_kind::network:
            return db_error(db_error_kind::connect, where, native(e), e.what(), false);
        case failure_kind::timeout:
            // The server may grant the lock after we stopped listening.
            return db_error(db_error_kind::acquire_timeout, where, native(e),
                            std::string(e.what()) +
                                "; the server may still take the fsync lock "
                                "(check currentOp().fsyncLock)",
                            true);
        case failure_kind::server: break;
    }
    switch (e.code()) {
        case 24:   // LockTimeout: fsyncLockAcquisitionTimeoutMillis passed
        case 50:   // MaxTimeMSExpired
        case 262:  // ExceededTimeLimit
            return db_error(db_error_kind::acquire_timeout, where, native(e),
                            "fsync lock not granted within acquire_timeout_ms", false);
        case 13:  // Unauthorized
        case 18:  // AuthenticationFailed
            return db_error(db_error_kind::permission, where, native(e),
                            "not authorized (fsync and fsyncUnlock need the fsync/unlock "
                            "actions, e.g. the hostManager role)",
                            false);
        default:
            return db_error(db_error_kind::precondition, where, native(e),
                            "the server refused fsync with lock", false);
    }
}

/// The lock this process holds on a server; see the header comment.
class MongoSession {
public:
    explicit MongoSession(std::unique_ptr<mongo::Transport> t) : transport_(std::move(t)) {}
    ~MongoSession() { abandon(); }
    MongoSession(const MongoSession&) = delete;
    MongoSession& operator=(const MongoSession&) = delete;

    /// Watchdog / exit / failed quiesce: the one unlock, errors swallowed
    /// (nothing better can be done from here; the lease reports hold_expired).
    void abandon() noexcept {
        if (unlock_sent_) return;
        unlock_sent_ = true;
        try {
            transport_->run_admin(Document{{"fsyncUnlock", 1}});
        } catch (...) {}
    }

    /// unquiesce_db: the one unlock, with its outcome reported.
    taskexec::json release() {
        const db_where where{"mongo", "unquiesce_db", "fsync_unlock"};
        if (unlock_sent_) return taskexec::json::object();
        unlock_sent_ = true;
        Document reply;
        try {
            reply = transport_->run_admin(Document{{"fsyncUnlock", 1}});
        } catch (const CommandError& e) {
            if (e.kind() == failure_kind::server && e.code() == 20)  // IllegalOperation
                throw db_error(db_error_kind::session_lost, where, native(e),
                               "the server was no longer fsync-locked: another client unlocked "
                               "it during the hold",
                               false);
            throw db_error(db_error_kind::release_failed, where, native(e),
                           std::string(e.what()) +
                               "; not retried (a second unlock could remove "
                               "another client's lock)",
                           true);
        }
        const std::int64_t left = reply.value("lockCount", std::int64_t{0});
        return {{"lock_count_after", left}, {"still_locked_by_others", left > 0}};
    }

private:
    std::unique_ptr<mongo::Transport> transport_;
    bool unlock_sent_ = false;
};

LeaseTable<MongoSession>& mongo_leases() {
    static auto* table = new LeaseTable<MongoSession>("mongo");  // never destroyed
    return *table;
}

db_where mongo_at(const char* step) { return {"mongo", "quiesce_db", step}; }

struct MongoQuiesceDb : QuiesceDb, taskexec::Engine<"mongo"> {
    taskexec::json execute(const QuiesceParams& p, taskexec::Context& ctx) {
        const auto start = clock_type::now();
        server::validate_common(p, mongo_at("validate"));
        std::string uri = p.uri;
        if (uri.empty() && !p.host.empty())
            uri = "mongodb://" + p.host + ":" + std::to_string(p.port != 0 ? p.port : 27017);
        if (uri.empty())
            throw server::config_error(mongo_at("validate"),
                                       "payload field 'uri' (or 'host') is required");
        // The copy needs the server's dbPath as seen from here; listed
        // before the lock so an unreadable directory holds nothing.
        taskexec::json files = taskexec::json::array();
        if (!p.data_dir.empty()) files = server::list_entries(p.data_dir, mongo_at("list_files"));

        const std::int64_t budget = server::acquire_budget_ms(p, ctx);
        const std::optional<server::Secret> password =
            server::password_from_env(p, mongo_at("connect"));
        std::unique_ptr<mongo::Transport> transport;
        try {
            transport = mongo::make_transport({uri, p.user, password ? password->c_str() : nullptr,
                                               std::chrono::milliseconds(budget)});
        } catch (const CommandError& e) {
            throw lock_failure(e, mongo_at("connect"));
        }

        Document lock{{"fsync", 1}, {"lock", true}, {"fsyncLockAcquisitionTimeoutMillis", budget}};
        Document reply;
        try {
            reply = transport->run_admin(lock);
        } catch (const CommandError& e) {
            if (e.kind() != failure_kind::server || e.code() != idl_unknown_field)
                throw lock_failure(e, mongo_at("fsync_lock"));
            lock.erase("fsyncLockAcquisitionTimeoutMillis");
            try {
                reply = transport->run_admin(lock);
            } catch (const CommandError& again) {
                throw lock_failure(again, mongo_at("fsync_lock"));
            }
        }
        // We hold one count of the lock now; the session's destructor sends
        // its one fsyncUnlock if anything below throws.
        auto session = std::make_unique<MongoSession>(std::move(transport));
        const std::int64_t lock_count = reply.value("lockCount", std::int64_t{1});
        if (lock_count > 1) {
            session.reset();  // our one unlock; the other holder's count stays
            throw db_error(db_error_kind::already_quiesced, mongo_at("fsync_lock"), "",
                           "another client also holds the fsync lock (lockCount " +
                               std::to_string(lock_count) + "); released ours",
                           false);
        }

        taskexec::json result = {{"engine", "mongo"},
                                 {"lock_count", lock_count},
                                 {"source_dir", p.data_dir},
                                 {"files_to_copy", std::move(files)},
                                 // A copied lock file would make the restored
                                 // mongod think it was not shut down cleanly.
                                 {"exclude", {"mongod.lock"}}};
        if (reply.contains("operationTime"))
            result["operation_time"] = taskexec::json::parse(reply["operationTime"].dump());
        const auto max_hold = std::chrono::milliseconds(p.max_hold_ms);
        result["deadline_ms"] = server::epoch_ms(std::chrono::system_clock::now() + max_hold);
        result["max_hold_ms"] = p.max_hold_ms;
        result["lease_id"] = mongo_leases().hold(std::move(session), max_hold);
        result["elapsed_ms"] = LeaseTable<MongoSession>::ms_since(start);
        return result;
    }
};
TASKEXEC_ENGINE(MongoQuiesceDb);

struct MongoUnquiesceDb : UnquiesceDb, taskexec::Engine<"mongo"> {
    taskexec::json execute(const UnquiesceParams& p, taskexec::Context& ctx) {
        return mongo_leases().unquiesce(p, ctx.stop_token(),
                                        [](MongoSession& s) { return s.release(); });
    }
};
TASKEXEC_ENGINE(MongoUnquiesceDb);

}  // namespace
}  // namespace taskexec_examples
