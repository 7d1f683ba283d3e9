// examples/tasks/postgres_session.hpp — the libpq connection that holds a
// PostgreSQL backup open between quiesce_db and unquiesce_db.
//
//     auto s = postgres::Session::connect(params, where, budget_ms);
//     postgres::Result r = s->exec("SELECT pg_backup_start($1, $2)::text", {label, "true"}, where);
//     std::string id = postgres::leases().hold(std::move(s), max_hold);
//     ...
//     postgres::leases().unquiesce(p, stop, [&](postgres::Session& s) { return s.release(dir); });
//
// PostgreSQL ties a non-exclusive backup (pg_backup_start) and table locks
// to the session: when the connection closes, the server aborts the backup
// and drops the locks. So the Session *is* the hold, and closing it is the
// watchdog's release. Errors are reported by SQLSTATE with our own text —
// a server message can quote a table name or a label from the payload.
#pragma once

#include <libpq-fe.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"

namespace taskexec_examples::postgres {

struct ResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
/// A libpq result that clears itself.
using Result = std::unique_ptr<PGresult, ResultDeleter>;

/// One holder connection. Not thread-safe by itself: the LeaseTable's
/// per-session mutex serialises release and the watchdog; during quiesce
/// only PQcancel (thread-safe) is used from another thread.
class Session {
public:
    /// Connects with the payload's host/port/dbname/user and the password
    /// from password_env; connect_timeout follows `budget_ms` (libpq's
    /// minimum is 2 s). Throws db_error connect / permission / config.
    static std::unique_ptr<Session> connect(const QuiesceParams& p, const db_where& where,
                                            std::int64_t budget_ms);

    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Runs one statement with text parameters (never interpolated).
    /// Throws a classified db_error; `stop_requested` turns a cancel into
    /// kind `cancelled`.
    Result exec(const std::string& sql, const std::vector<std::string>& params,
                const db_where& where, bool stop_requested = false);

    /// "tbl" -> "\"tbl\"" via PQescapeIdentifier; schema-qualified names
    /// ("s.t") are split on the first dot and each part escaped.
    std::string quote_table(const std::string& name, const db_where& where) const;

    /// Sends a cancel request for the statement now running (thread-safe).
    void cancel() noexcept;

    int backend_pid() const noexcept { return backend_pid_; }

    /// Set by quiesce: what the release needs to know.
    bool in_transaction = false;       ///< block_writes: locks held in an open transaction
    std::filesystem::path source_dir;  ///< the live data directory (never written to)

    /// unquiesce_db: pg_backup_stop on this session (and COMMIT for
    /// block_writes), then backup_label / tablespace_map into
    /// `snapshot_dir`. Throws session_lost if the server ended the session.
    taskexec::json release(const std::string& snapshot_dir);

    /// Watchdog / process exit / failed quiesce: close the connection. The
    /// server aborts the backup and drops the locks itself.
    void abandon() noexcept;

private:
    explicit Session(PGconn* conn) noexcept;
    PGconn* conn_;
    PGcancel* cancel_ = nullptr;
    int backend_pid_ = 0;
};

/// The classified error for a failed statement (or a lost connection).
db_error failure(PGconn* conn, const PGresult* res, const db_where& where, bool stop_requested);

/// The held sessions of the postgres engine (never destroyed: the lease
/// library may release at process exit, after static destructors).
LeaseTable<Session>& leases();

/// Writes `text` to `dir/name` (replacing it), fsync'ed; used for
/// backup_label and tablespace_map. Throws std::system_error.
void write_file(const std::filesystem::path& dir, const std::string& name, const std::string& text);

}  // namespace taskexec_examples::postgres
