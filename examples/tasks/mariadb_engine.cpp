// examples/tasks/mariadb_engine.cpp — quiesce_db / unquiesce_db for MariaDB
// and MySQL (libmariadb): two engine types, one implementation.
//
// method backup_stage (MariaDB's default): BACKUP STAGE START, then
// BLOCK_COMMIT — commits wait, the binary log and redo are consistent with
// the data; released by BACKUP STAGE END. method ftwrl (MySQL's default, and
// available on MariaDB): FLUSH TABLES, then FLUSH TABLES WITH READ LOCK;
// released by UNLOCK TABLES. Both belong to the holder connection.
//
// Acquisition is bounded on the server: lock_wait_timeout (whole seconds)
// and, on MariaDB, max_statement_time (fractional seconds) — the exact one.
// The session's wait_timeout is set a little above the hold, so the server
// ends an idle holder whose client died. Never SET GLOBAL read_only: it is
// global state that outlives the session, so a crashed client would leave
// the server read-only for everyone.
//
// A statement waiting for its lock is not interrupted by a stop request
// (that would need a second connection to KILL QUERY); it ends at the
// acquisition bound, which already includes the step's deadline.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"
#include "mariadb_session.hpp"
#include "server_common.hpp"

namespace taskexec_examples {
namespace mariadb {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

std::string text_of(const std::vector<Row>& rows) {
    return rows.empty() || rows.front().empty() || !rows.front().front() ? std::string()
                                                                         : *rows.front().front();
}

/// Names of server files that live in the data directory but must not be
/// copied: the pid file (a restored server would think it is running) and
/// the socket (cannot be copied).
taskexec::json excluded_names(Session& s, const fs::path& datadir, const db_where& where) {
    taskexec::json out = taskexec::json::array();
    const std::vector<Row> rows = s.query("SELECT @@pid_file, @@socket", where);
    if (rows.empty()) return out;
    std::error_code ec;
    for (const auto& cell : rows.front()) {
        if (!cell || cell->empty()) continue;
        const fs::path file = fs::path(*cell).is_absolute() ? fs::path(*cell) : datadir / *cell;
        if (fs::equivalent(file.parent_path(), datadir, ec))
            out.push_back(file.filename().string());
    }
    return out;
}

/// The binary log position at the freeze, where the server reports one;
/// needs BINLOG MONITOR / REPLICATION CLIENT and binary logging, so a
/// refusal just leaves it out.
taskexec::json consistency_point(Session& s, const db_where& where) {
    taskexec::json point = taskexec::json::object();
    try {
        const std::vector<Row> rows = s.query("SHOW MASTER STATUS", where);
        if (!rows.empty() && rows.front().size() >= 2 && rows.front()[0] && rows.front()[1]) {
            point["binlog_file"] = *rows.front()[0];
            point["binlog_position"] = std::stoll(*rows.front()[1]);
        }
    } catch (const db_error& e) {
        if (e.kind() == db_error_kind::session_lost) throw;
    }
    if (s.is_mariadb())
        point["gtid_binlog_pos"] = text_of(s.query("SELECT @@gtid_binlog_pos", where));
    return point;
}

}  // namespace

taskexec::json quiesce(const QuiesceParams& p, Flavor flavor, taskexec::Context& ctx) {
    const auto start = clock_type::now();
    const std::string engine(engine_name(flavor));
    const auto at = [&](const char* step) { return db_where{engine, "quiesce_db", step}; };

    server::validate_common(p, at("validate"));
    const std::string method = !p.method.empty()           ? p.method
                               : flavor == Flavor::mariadb ? "backup_stage"
                                                           : "ftwrl";
    if (method != "backup_stage" && method != "ftwrl")
        throw server::config_error(at("validate"),
                                   "payload field 'method' must be 'backup_stage' or 'ftwrl'");
    if (flavor == Flavor::mysql && method == "backup_stage")
        throw server::config_error(at("validate"),
                                   "BACKUP STAGE is MariaDB's; the mysql engine "
                                   "supports method 'ftwrl'");
    const server::AcquireBudget budget(p, ctx, start);

    // The session is the scope guard: its destructor sends release_sql (once
    // set) and closes, so a quiesce that fails never leaves a lock behind.
    std::unique_ptr<Session> s = Session::connect(p, flavor, at("connect"), budget.total_ms());
    if (method == "backup_stage" && (!s->is_mariadb() || s->server_version() < 100401))
        throw db_error(db_error_kind::precondition, at("version"), "",
                       "method 'backup_stage' needs MariaDB 10.4.1 or later; use 'ftwrl'", false);

    const std::vector<Row> where_rows = s->query("SELECT @@hostname, @@datadir", at("datadir"));
    const std::string server_datadir =
        where_rows.empty() ? "" : where_rows.front().at(1).value_or("");
    s->identity =
        (where_rows.empty() ? "" : where_rows.front().at(0).value_or("")) + ":" + server_datadir;
    const std::string identity = s->identity;
    if (leases(flavor).any_held([&](const Session& held) { return held.identity == identity; }))
        throw db_error(db_error_kind::already_quiesced, at("lookup"), "",
                       "this process already holds this server quiesced (an earlier lease was "
                       "not released)",
                       false);
    const std::string source_dir = p.data_dir.empty() ? server_datadir : p.data_dir;
    taskexec::json files = server::list_entries(source_dir, at("list_files"));
    taskexec::json exclude = excluded_names(*s, source_dir, at("list_files"));

    s->exec("SET SESSION wait_timeout = " +
                std::to_string(server::ceil_seconds(p.max_hold_ms + server::backstop_margin_ms)),
            at("backstop"));
    // Read back: the result reports what the server enforces.
    const std::string wait_timeout =
        text_of(s->query("SELECT @@session.wait_timeout", at("backstop")));
    s->exec("SET SESSION lock_wait_timeout = " +
                std::to_string(server::ceil_seconds(budget.remaining_ms())),
            at("bound"));
    if (s->is_mariadb()) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.3f",
                      static_cast<double>(budget.remaining_ms()) / 1000.0);
        s->exec(std::string("SET SESSION max_statement_time = ") + seconds, at("bound"));
    }

    if (method == "backup_stage") {
        s->exec("BACKUP STAGE START", at("backup_stage_start"));
        s->release_sql = "BACKUP STAGE END";
        s->exec("BACKUP STAGE BLOCK_COMMIT", at("backup_stage_block_commit"));
    } else {
        // FLUSH TABLES first closes open tables while writers still run, so
        // the locked FLUSH below has less to wait for (as mysqldump does).
        s->exec("FLUSH TABLES", at("flush_tables"));
        s->exec("FLUSH TABLES WITH READ LOCK", at("ftwrl"));
        s->release_sql = "UNLOCK TABLES";
    }
    if (s->is_mariadb()) s->exec("SET SESSION max_statement_time = 0", at("bound"));

    taskexec::json result = {
        {"engine", engine},
        {"method", method},
        {"connection_id", s->connection_id()},
        {"server_version", s->server_version()},
        {"consistency", consistency_point(*s, at("consistency"))},
        {"source_dir", source_dir},
        {"files_to_copy", std::move(files)},
        {"exclude", std::move(exclude)},
        {"wait_timeout_s", std::stoll(wait_timeout)},
    };
    const auto max_hold = std::chrono::milliseconds(p.max_hold_ms);
    result["deadline_ms"] = server::epoch_ms(std::chrono::system_clock::now() + max_hold);
    result["max_hold_ms"] = p.max_hold_ms;
    // Last: from here on the watchdog may close the session at any time.
    result["lease_id"] = leases(flavor).hold(std::move(s), max_hold);
    result["elapsed_ms"] = LeaseTable<Session>::ms_since(start);
    return result;
}

}  // namespace mariadb

namespace {

struct MariadbQuiesceDb : QuiesceDb, taskexec::Engine<"mariadb"> {
    taskexec::json execute(const QuiesceParams& p, taskexec::Context& ctx) {
        return mariadb::quiesce(p, mariadb::Flavor::mariadb, ctx);
    }
};
TASKEXEC_ENGINE(MariadbQuiesceDb);

struct MariadbUnquiesceDb : UnquiesceDb, taskexec::Engine<"mariadb"> {
    taskexec::json execute(const UnquiesceParams& p, taskexec::Context& ctx) {
        return mariadb::leases(mariadb::Flavor::mariadb)
            .unquiesce(p, ctx.stop_token(), [](mariadb::Session& s) { return s.release(); });
    }
};
TASKEXEC_ENGINE(MariadbUnquiesceDb);

struct MysqlQuiesceDb : QuiesceDb, taskexec::Engine<"mysql"> {
    taskexec::json execute(const QuiesceParams& p, taskexec::Context& ctx) {
        return mariadb::quiesce(p, mariadb::Flavor::mysql, ctx);
    }
};
TASKEXEC_ENGINE(MysqlQuiesceDb);

struct MysqlUnquiesceDb : UnquiesceDb, taskexec::Engine<"mysql"> {
    taskexec::json execute(const UnquiesceParams& p, taskexec::Context& ctx) {
        return mariadb::leases(mariadb::Flavor::mysql)
            .unquiesce(p, ctx.stop_token(), [](mariadb::Session& s) { return s.release(); });
    }
};
TASKEXEC_ENGINE(MysqlUnquiesceDb);

}  // namespace
}  // namespace taskexec_examples
