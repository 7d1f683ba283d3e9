// examples/tasks/postgres_engine.cpp — quiesce_db / unquiesce_db for
// PostgreSQL 15+ (libpq).
//
// Quiesce opens a holder session and starts a non-exclusive base backup
// there: pg_backup_start(label, fast) forces a checkpoint and returns the
// start LSN. It does NOT stop writers — a file copy taken during the backup
// is fuzzy, and becomes consistent by WAL replay from the checkpoint that
// the backup_label (returned by pg_backup_stop) names up to the stop LSN.
// With block_writes, the listed tables are also SHARE-locked in an open
// transaction, so their writers wait until unquiesce.
//
// Server-side backstop: idle_session_timeout (and, with an open
// transaction, idle_in_transaction_session_timeout) a little above the hold,
// so a holder whose client died is ended by the server, which aborts the
// backup. Our own watchdog closes the session at max_hold_ms first.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"
#include "postgres_session.hpp"
#include "server_common.hpp"

namespace taskexec_examples {
namespace {

using postgres::Session;
using clock_type = std::chrono::steady_clock;

db_where postgres_at(const char* step) { return {"postgres", "quiesce_db", step}; }

std::string ms_text(std::int64_t ms) { return std::to_string(ms); }

struct PostgresQuiesceDb : QuiesceDb, taskexec::Engine<"postgres"> {
    taskexec::json execute(const QuiesceParams& p, taskexec::Context& ctx) {
        const auto start = clock_type::now();
        server::validate_common(p, postgres_at("validate"));
        if (p.block_writes && p.tables.empty())
            throw server::config_error(postgres_at("validate"),
                                       "payload field 'block_writes' needs 'tables'");
        const server::AcquireBudget budget(p, ctx, start);

        // The session is the scope guard: if anything below throws, its
        // destructor closes the connection, and the server aborts the backup
        // and drops the locks this call took.
        std::unique_ptr<Session> session =
            Session::connect(p, postgres_at("connect"), budget.total_ms());
        const std::stop_token stop = ctx.stop_token();
        // A stop request (cancel, step deadline) interrupts the statement
        // that is waiting — a lock or the checkpoint — instead of letting it
        // run to its own timeout.
        // Reset before the session is handed to the lease table, after which
        // the watchdog may free it.
        std::optional<std::stop_callback<std::function<void()>>> on_stop;
        on_stop.emplace(stop, [s = session.get()] { s->cancel(); });
        const auto run = [&](const char* step, const std::string& sql,
                             const std::vector<std::string>& params) {
            if (stop.stop_requested())
                throw db_error(db_error_kind::cancelled, postgres_at(step), "",
                               "cancelled by the run (stop or deadline)", false);
            return session->exec(sql, params, postgres_at(step), stop.stop_requested());
        };

        postgres::Result version =
            run("version", "SELECT current_setting('server_version_num')::int", {});
        const int version_num = std::stoi(PQgetvalue(version.get(), 0, 0));
        if (version_num < 150000)
            throw db_error(db_error_kind::precondition, postgres_at("version"), "",
                           "PostgreSQL 15 or later is required (pg_backup_start)", false);

        std::string source_dir = p.data_dir;
        if (source_dir.empty()) {
            postgres::Result r =
                run("data_directory", "SELECT current_setting('data_directory')", {});
            source_dir = PQgetvalue(r.get(), 0, 0);
        }
        taskexec::json files = server::list_entries(source_dir, postgres_at("list_files"));
        session->source_dir = source_dir;

        // Read back from pg_settings (raw milliseconds): the result reports
        // what the server enforces, not what we meant to set.
        postgres::Result backstop =
            run("backstop",
                "SELECT set_config('idle_session_timeout', $1, false), "
                "set_config('idle_in_transaction_session_timeout', $1, false), "
                "(SELECT setting::bigint FROM pg_settings WHERE name = 'idle_session_timeout')",
                {ms_text(p.max_hold_ms + server::backstop_margin_ms)});
        const std::int64_t backstop_ms = std::stoll(PQgetvalue(backstop.get(), 0, 2));

        if (p.block_writes) {
            std::string list;
            for (const std::string& t : p.tables)
                list += (list.empty() ? "" : ", ") +
                        session->quote_table(t, postgres_at("lock_tables"));
            run("begin", "BEGIN", {});
            session->in_transaction = true;
            run("lock_tables", "SELECT set_config('lock_timeout', $1, true)",
                {ms_text(budget.remaining_ms())});
            // SHARE conflicts with the ROW EXCLUSIVE lock every INSERT,
            // UPDATE and DELETE takes, and not with readers.
            run("lock_tables", "LOCK TABLE " + list + " IN SHARE MODE", {});
        }

        // The checkpoint pg_backup_start waits for is bounded too.
        run("backup_start", "SELECT set_config('statement_timeout', $1, false)",
            {ms_text(budget.remaining_ms())});
        postgres::Result started = run("backup_start", "SELECT pg_backup_start($1, $2)::text",
                                       {p.label, p.fast_checkpoint ? "true" : "false"});
        const std::string start_lsn = PQgetvalue(started.get(), 0, 0);
        run("backup_start", "SELECT set_config('statement_timeout', '0', false)", {});

        taskexec::json result = {
            {"engine", "postgres"},
            {"start_lsn", start_lsn},
            {"backend_pid", session->backend_pid()},
            {"server_version_num", version_num},
            {"source_dir", source_dir},
            {"files_to_copy", std::move(files)},
            // A copied postmaster.pid would make the restored server think
            // the original is still running in its directory.
            {"exclude", {"postmaster.pid", "postmaster.opts"}},
            {"block_writes", p.block_writes},
            {"locked_tables", p.block_writes ? p.tables.size() : 0},
            {"idle_session_timeout_ms", backstop_ms},
        };
        const auto max_hold = std::chrono::milliseconds(p.max_hold_ms);
        result["deadline_ms"] = server::epoch_ms(std::chrono::system_clock::now() + max_hold);
        result["max_hold_ms"] = p.max_hold_ms;
        on_stop.reset();
        // Last: from here on the watchdog may close the session at any time.
        result["lease_id"] = postgres::leases().hold(std::move(session), max_hold);
        result["elapsed_ms"] = LeaseTable<Session>::ms_since(start);
        return result;
    }
};
TASKEXEC_ENGINE(PostgresQuiesceDb);

struct PostgresUnquiesceDb : UnquiesceDb, taskexec::Engine<"postgres"> {
    taskexec::json execute(const UnquiesceParams& p, taskexec::Context& ctx) {
        return postgres::leases().unquiesce(p, ctx.stop_token(),
                                            [&](Session& s) { return s.release(p.snapshot_dir); });
    }
};
TASKEXEC_ENGINE(PostgresUnquiesceDb);

}  // namespace
}  // namespace taskexec_examples
