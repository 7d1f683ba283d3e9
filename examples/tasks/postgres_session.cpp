// examples/tasks/postgres_session.cpp — see postgres_session.hpp.
#include "postgres_session.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <system_error>
#include <utility>

#include "server_common.hpp"

namespace taskexec_examples::postgres {
namespace fs = std::filesystem;

namespace {

// libpq prints NOTICEs to stderr by default (pg_backup_stop says "WAL
// archiving is not enabled ..."); an example library must not chatter.
void ignore_notice(void*, const char*) {}

bool starts_with(std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
}

/// Our own text for a SQLSTATE: server messages can quote table names and
/// labels, which are payload values.
db_error classify(const std::string& state, const db_where& where, bool stop_requested) {
    const std::string native = "SQLSTATE " + state;
    auto make = [&](db_error_kind kind, const char* text) {
        return db_error(kind, where, native, text, false);
    };
    if (state == "57014")
        return stop_requested
                   ? make(db_error_kind::cancelled, "cancelled by the run (stop or deadline)")
                   : make(db_error_kind::acquire_timeout,
                          "not done within acquire_timeout_ms (statement_timeout)");
    if (state == "55P03")
        return make(db_error_kind::acquire_timeout,
                    "table locks not granted within acquire_timeout_ms (lock_timeout)");
    if (state == "40P01")
        return make(db_error_kind::acquire_timeout, "deadlock while taking the table locks");
    if (state == "42501")
        return make(db_error_kind::permission,
                    "insufficient privilege (pg_backup_start/pg_backup_stop need EXECUTE, "
                    "block_writes needs LOCK rights on the tables, reading data_directory "
                    "needs pg_read_all_settings)");
    if (state == "42P01")
        return make(db_error_kind::config, "a table in payload field 'tables' does not exist");
    if (state == "3F000")
        return make(db_error_kind::config,
                    "a schema named in payload field 'tables' does not exist");
    if (starts_with(state, "22"))
        return make(db_error_kind::config,
                    "the server rejected a payload value (e.g. a label that is too long)");
    if (state == "55000")
        return make(db_error_kind::precondition,
                    "object not in prerequisite state (no backup in progress on this session, "
                    "or wal_level is minimal)");
    if (state == "57P03")
        return make(db_error_kind::connect, "the server is not accepting connections");
    if (starts_with(state, "53"))
        return make(db_error_kind::precondition, "the server is out of resources");
    return make(db_error_kind::precondition, "the server reported an error");
}

}  // namespace

Session::Session(PGconn* conn) noexcept : conn_(conn) {
    PQsetNoticeProcessor(conn_, &ignore_notice, nullptr);
    cancel_ = PQgetCancel(conn_);
    backend_pid_ = PQbackendPID(conn_);
}

Session::~Session() { abandon(); }

void Session::abandon() noexcept {
    if (cancel_ != nullptr) PQfreeCancel(std::exchange(cancel_, nullptr));
    if (conn_ != nullptr) PQfinish(std::exchange(conn_, nullptr));
}

void Session::cancel() noexcept {
    char error[256];
    if (cancel_ != nullptr) PQcancel(cancel_, error, static_cast<int>(sizeof error));
}

std::unique_ptr<Session> Session::connect(const QuiesceParams& p, const db_where& where,
                                          std::int64_t budget_ms) {
    const std::optional<server::Secret> password = server::password_from_env(p, where);
    // Keyword/value arrays, with expand_dbname = 0: no value is parsed as a
    // conninfo string, so a payload cannot smuggle in other settings.
    std::vector<std::pair<const char*, std::string>> kv;
    if (!p.host.empty()) kv.emplace_back("host", p.host);
    if (p.port != 0) kv.emplace_back("port", std::to_string(p.port));
    if (!p.dbname.empty()) kv.emplace_back("dbname", p.dbname);
    if (!p.user.empty()) kv.emplace_back("user", p.user);
    kv.emplace_back("connect_timeout",
                    std::to_string(std::max(2L, server::ceil_seconds(budget_ms))));
    kv.emplace_back("application_name", "taskexec");
    std::vector<const char*> keys;
    std::vector<const char*> values;
    for (const auto& [k, v] : kv) {
        keys.push_back(k);
        values.push_back(v.c_str());
    }
    if (password) {
        keys.push_back("password");
        values.push_back(password->c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);

    PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
    if (conn == nullptr) throw db_error(db_error_kind::connect, where, "", "out of memory", false);
    if (PQstatus(conn) != CONNECTION_OK) {
        // libpq gives no SQLSTATE for a failed connection, and its message
        // names the host, user and database: classify, then drop the text.
        const std::string text = PQerrorMessage(conn);
        const bool auth = PQconnectionNeedsPassword(conn) ||
                          text.find("authentication failed") != std::string::npos ||
                          text.find("no password supplied") != std::string::npos ||
                          text.find("permission denied") != std::string::npos;
        PQfinish(conn);
        throw db_error(auth ? db_error_kind::permission : db_error_kind::connect, where, "",
                       auth ? "authentication failed (check user and the variable named by "
                              "password_env)"
                            : "could not connect (check host, port, dbname and that the "
                              "server is running)",
                       false);
    }
    return std::unique_ptr<Session>(new Session(conn));
}

Result Session::exec(const std::string& sql, const std::vector<std::string>& params,
                     const db_where& where, bool stop_requested) {
    if (conn_ == nullptr)
        throw db_error(db_error_kind::session_lost, where, "", "the session is closed", false);
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& v : params) values.push_back(v.c_str());
    Result res(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    const ExecStatusType status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return res;
    throw failure(conn_, res.get(), where, stop_requested);
}

db_error failure(PGconn* conn, const PGresult* res, const db_where& where, bool stop_requested) {
    const char* raw = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const std::string state = raw != nullptr ? raw : "";
    // The session is gone when libpq says so, or the server sent one of the
    // FATALs that end it: terminated by an administrator (57P01), idle
    // timeouts — our own backstop — (57P05, 25P03), crash/shutdown (57P02).
    if (PQstatus(conn) == CONNECTION_BAD || starts_with(state, "08") || state == "57P01" ||
        state == "57P02" || state == "57P05" || state == "25P03")
        return db_error(
            db_error_kind::session_lost, where, state.empty() ? "" : "SQLSTATE " + state,
            "the server ended the session (terminated, idle timeout, or shutdown)", false);
    if (state.empty())
        return db_error(db_error_kind::precondition, where, "", "the statement failed", false);
    return classify(state, where, stop_requested);
}

std::string Session::quote_table(const std::string& name, const db_where& where) const {
    auto escape = [&](const std::string& part) {
        std::unique_ptr<char, decltype(&PQfreemem)> q(
            PQescapeIdentifier(conn_, part.data(), part.size()), &PQfreemem);
        if (!q || part.empty())
            throw server::config_error(where,
                                       "payload field 'tables' holds an empty or "
                                       "invalid table name");
        return std::string(q.get());
    };
    const auto dot = name.find('.');
    if (dot == std::string::npos) return escape(name);
    return escape(name.substr(0, dot)) + "." + escape(name.substr(dot + 1));
}

taskexec::json Session::release(const std::string& snapshot_dir) {
    const db_where stop_at{"postgres", "unquiesce_db", "backup_stop"};
    std::string stop_lsn, labelfile, spcmapfile;
    try {
        // wait_for_archive => false: a throwaway or unarchived cluster would
        // otherwise wait forever; the WAL is copied with the snapshot.
        Result r = exec(
            "SELECT lsn::text, labelfile, spcmapfile "
            "FROM pg_backup_stop(wait_for_archive => false)",
            {}, stop_at);
        stop_lsn = PQgetvalue(r.get(), 0, 0);
        labelfile = PQgetvalue(r.get(), 0, 1);
        spcmapfile = PQgetisnull(r.get(), 0, 2) ? "" : PQgetvalue(r.get(), 0, 2);
        if (in_transaction) exec("COMMIT", {}, {"postgres", "unquiesce_db", "commit"});
    } catch (const db_error& e) {
        if (e.kind() == db_error_kind::session_lost) throw;
        // The LeaseTable closes the session after this throws, and the server
        // then aborts the backup and drops the locks: not frozen.
        throw db_error(db_error_kind::release_failed, e.where(), e.native_code(), e.message(),
                       false);
    }
    abandon();  // nothing is held any more; free the server slot now

    taskexec::json out = {{"stop_lsn", stop_lsn}, {"backup_label_written", false}};
    const db_where write_at{"postgres", "unquiesce_db", "write_backup_label"};
    // Checked only now: a bad snapshot_dir must not keep the backup running.
    if (snapshot_dir.find('\0') != std::string::npos || snapshot_dir.size() > max_text_bytes)
        throw db_error(db_error_kind::config, write_at, "",
                       "payload field 'snapshot_dir' holds a NUL byte or is longer than 4096 "
                       "bytes; backup_label not written (the backup was stopped)",
                       false);
    std::error_code ec;
    if (snapshot_dir.empty() || !fs::is_directory(snapshot_dir, ec)) {
        // Standalone unquiesce, or a compensation after the copy failed to
        // create the snapshot: there is nothing to complete.
        return out;
    }
    // backup_label in a live data directory would make a crashed primary
    // restore from the backup's checkpoint: never write it there.
    if ((!source_dir.empty() && fs::equivalent(snapshot_dir, source_dir, ec)) ||
        fs::exists(fs::path(snapshot_dir) / "postmaster.pid", ec))
        throw db_error(db_error_kind::precondition, write_at, "",
                       "snapshot_dir is a live data directory; backup_label not written "
                       "(the backup was stopped)",
                       false);
    try {
        write_file(snapshot_dir, "backup_label", labelfile);
        if (!spcmapfile.empty()) write_file(snapshot_dir, "tablespace_map", spcmapfile);
    } catch (const std::system_error& e) {
        throw db_error(db_error_kind::permission, write_at,
                       "errno " + std::to_string(e.code().value()),
                       "cannot write backup_label into snapshot_dir (the backup was stopped): " +
                           e.code().message(),
                       false);
    }
    out["backup_label_written"] = true;
    out["tablespace_map_written"] = !spcmapfile.empty();
    return out;
}

void write_file(const fs::path& dir, const std::string& name, const std::string& text) {
    const fs::path file = dir / name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "open");
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), "write");
        }
        done += static_cast<std::size_t>(n);
    }
    // A snapshot whose backup_label is still in the page cache is not a
    // snapshot yet: flush it before reporting success.
    if (::fsync(fd) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::system_error(err, std::generic_category(), "fsync");
    }
    if (::close(fd) != 0) throw std::system_error(errno, std::generic_category(), "close");
}

LeaseTable<Session>& leases() {
    static auto* table = new LeaseTable<Session>("postgres");  // never destroyed
    return *table;
}

}  // namespace taskexec_examples::postgres
