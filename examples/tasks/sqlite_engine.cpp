// examples/tasks/sqlite_engine.cpp — quiesce_db / unquiesce_db for SQLite.
//
// Quiesce opens its own connection and takes SQLite's write lock with
// `BEGIN IMMEDIATE` (or EXCLUSIVE, which also shuts readers out in
// rollback-journal mode). While that transaction is open no other
// connection, in this process or another, can commit, so the database file
// (and, in WAL mode, the -wal file) stay exactly as they are: a plain file
// copy is consistent. Unquiesce rolls the empty transaction back and closes
// the connection. The connection lives in a LeaseTable between the two calls.
//
// Acquisition is bounded by acquire_timeout_ms (and the run's deadline and
// stop token) through our own busy handler, which also makes it cancellable:
// SQLite's built-in busy_timeout cannot be interrupted.
#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"
#include "payload_text.hpp"
#include "sqlite_db.hpp"

namespace taskexec_examples {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr std::int64_t max_hold_limit_ms = 600000;

/// The connection holding the write transaction, between quiesce and unquiesce.
class SqliteSession {
public:
    SqliteSession(sqlite::Connection db, fs::path file)
        : db_(std::move(db)), file_(std::move(file)) {}
    SqliteSession(const SqliteSession&) = delete;
    SqliteSession& operator=(const SqliteSession&) = delete;
    ~SqliteSession() { abandon(); }

    sqlite3* db() const noexcept { return db_.get(); }
    const fs::path& file() const noexcept { return file_; }

    /// Watchdog, process exit, failed quiesce: end the transaction, close.
    /// Closing alone would roll back too; ROLLBACK first frees the lock even
    /// if a leaked statement kept the connection alive as a zombie.
    void abandon() noexcept {
        if (!db_) return;
        if (sqlite3_get_autocommit(db_.get()) == 0)
            sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        db_.reset();
    }

    /// unquiesce_db: ROLLBACK on the holder connection, then close.
    taskexec::json release() {
        const db_where where{"sqlite", "unquiesce_db", "rollback"};
        // Autocommit back on means our transaction is gone: the hold ended
        // without us (it cannot for a live connection; report it if it did).
        if (sqlite3_get_autocommit(db_.get()) != 0) {
            db_.reset();
            throw db_error(db_error_kind::session_lost, where, "",
                           "the holder connection is no longer in its transaction", false);
        }
        const int rc = sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        const int code = sqlite3_extended_errcode(db_.get());
        db_.reset();  // closing ends any transaction, so the lock is gone either way
        if (rc != SQLITE_OK)
            throw db_error(db_error_kind::release_failed, where, sqlite::native_code(code),
                           sqlite3_errstr(code), false);
        return taskexec::json::object();
    }

private:
    sqlite::Connection db_;
    fs::path file_;
};

LeaseTable<SqliteSession>& sqlite_leases() {
    static auto* table =
        new LeaseTable<SqliteSession>("sqlite");  // never destroyed: see LeaseTable
    return *table;
}

/// Our busy handler: retry every few ms until the acquisition deadline, the
/// step's deadline or a stop request.
struct BusyWait {
    clock_type::time_point deadline;
    std::stop_token stop;
    bool stopped = false;

    static int callback(void* self, int /*attempt*/) {
        auto* wait = static_cast<BusyWait*>(self);
        if (wait->stop.stop_requested()) {
            wait->stopped = true;
            return 0;
        }
        const auto now = clock_type::now();
        if (now >= wait->deadline) return 0;
        const auto nap =
            std::min<clock_type::duration>(std::chrono::milliseconds(2), wait->deadline - now);
        std::this_thread::sleep_for(nap);
        return 1;
    }
};

db_where sqlite_at(const char* step) { return {"sqlite", "quiesce_db", step}; }

/// A db_error for a failed SQLite call during quiesce.
db_error quiesce_failure(const char* step, int rc, const BusyWait& wait) {
    if (wait.stopped)
        return db_error(db_error_kind::cancelled, sqlite_at(step), sqlite::native_code(rc),
                        "stopped while waiting for the database lock", false);
    db_error_kind kind = db_error_kind::precondition;
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED: kind = db_error_kind::acquire_timeout; break;
        case SQLITE_CANTOPEN: kind = db_error_kind::connect; break;
        case SQLITE_PERM:
        case SQLITE_READONLY:
        case SQLITE_AUTH: kind = db_error_kind::permission; break;
        default: break;
    }
    std::string message = sqlite3_errstr(rc);
    if (kind == db_error_kind::acquire_timeout)
        message += " (not granted within acquire_timeout_ms)";
    return db_error(kind, sqlite_at(step), sqlite::native_code(rc), message, false);
}

void validate(const QuiesceParams& p) {
    auto config = [](const char* message) {
        return db_error(db_error_kind::config, sqlite_at("validate"), "", message, false);
    };
    check_text_fields(p, sqlite_at("validate"));
    if (p.path.empty()) throw config("payload field 'path' (the database file) is required");
    if (p.max_hold_ms < 1 || p.max_hold_ms > max_hold_limit_ms)
        throw config("payload field 'max_hold_ms' must be between 1 and 600000");
    if (p.acquire_timeout_ms < 0 || p.acquire_timeout_ms > max_hold_limit_ms)
        throw config("payload field 'acquire_timeout_ms' must be between 0 and 600000");
    if (p.mode != "immediate" && p.mode != "exclusive")
        throw config("payload field 'mode' must be 'immediate' or 'exclusive'");
    if (p.checkpoint != "truncate" && p.checkpoint != "passive" && p.checkpoint != "none")
        throw config("payload field 'checkpoint' must be 'truncate', 'passive' or 'none'");
}

fs::path existing_file(const std::string& path) {
    std::error_code ec;
    fs::path canonical = fs::canonical(path, ec);
    if (ec || !fs::is_regular_file(canonical, ec))
        throw db_error(db_error_kind::connect, sqlite_at("open"),
                       ec ? "errno " + std::to_string(ec.value()) : std::string(),
                       "the database file does not exist or is not a regular file", false);
    return canonical;
}

/// WAL only: move the log into the database file first, so the copy is
/// mostly one file. A checkpoint cannot run inside our own write
/// transaction, hence before BEGIN. Busy (a reader or writer in the way until
/// the deadline) is not fatal: the -wal file is then copied as it stands.
taskexec::json checkpoint(sqlite3* db, const std::string& mode, const BusyWait& wait) {
    if (mode == "none") return {{"mode", "none"}};
    const int how = mode == "truncate" ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE;
    int log_frames = 0;
    int done_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db, "main", how, &log_frames, &done_frames);
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
        throw quiesce_failure("checkpoint", rc, wait);
    if (wait.stopped) throw quiesce_failure("checkpoint", rc, wait);
    return {{"mode", mode},
            {"complete", rc == SQLITE_OK && log_frames == done_frames},
            {"log_frames", log_frames},
            {"checkpointed_frames", done_frames}};
}

std::int64_t file_bytes(const fs::path& file) {
    std::error_code ec;
    const auto size = fs::file_size(file, ec);
    return ec ? 0 : static_cast<std::int64_t>(size);
}

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

struct SqliteQuiesceDb : QuiesceDb, taskexec::Engine<"sqlite"> {
    taskexec::json execute(const QuiesceParams& p, taskexec::Context& ctx) {
        const auto start = clock_type::now();
        validate(p);
        const fs::path file = existing_file(p.path);
        if (sqlite_leases().any_held([&](const SqliteSession& s) { return s.file() == file; }))
            throw db_error(db_error_kind::already_quiesced, sqlite_at("lookup"), "",
                           "this process already holds the database quiesced (an earlier "
                           "lease was not released)",
                           false);

        BusyWait wait{start + std::chrono::milliseconds(p.acquire_timeout_ms), ctx.stop_token()};
        wait.deadline = std::min(wait.deadline, ctx.deadline());
        std::unique_ptr<SqliteSession> session;
        try {
            session = std::make_unique<SqliteSession>(
                sqlite::open(file.string(), SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX), file);
        } catch (const sqlite::failure& e) {
            throw quiesce_failure("open", e.code(), wait);
        }
        // From here on the session's destructor is the scope guard: any throw
        // rolls back and closes what this call took.
        sqlite3* db = session->db();
        sqlite3_busy_handler(db, &BusyWait::callback, &wait);

        taskexec::json result;
        const char* step = "journal_mode";
        try {
            const std::string journal_mode = sqlite::query_text(db, "PRAGMA journal_mode");
            result["journal_mode"] = journal_mode;
            if (journal_mode == "wal") {
                step = "checkpoint";
                result["checkpoint"] = checkpoint(db, p.checkpoint, wait);
            }
            step = "begin";
            sqlite::exec(db, p.mode == "exclusive" ? "BEGIN EXCLUSIVE" : "BEGIN IMMEDIATE");
            step = "inspect";
            // Reading page 1 inside the transaction pins the snapshot we report.
            result["consistency"] = {{"data_version", sqlite::query_int(db, "PRAGMA data_version")},
                                     {"page_count", sqlite::query_int(db, "PRAGMA page_count")},
                                     {"page_size", sqlite::query_int(db, "PRAGMA page_size")},
                                     {"wal_bytes", file_bytes(file.string() + "-wal")}};
        } catch (const sqlite::failure& e) {
            throw quiesce_failure(step, e.code(), wait);
        }
        // The handler points at this stack frame; later users of the
        // connection (release, watchdog) must not call it.
        sqlite3_busy_handler(db, nullptr, nullptr);

        taskexec::json files = taskexec::json::array({file.filename().string()});
        // A non-empty -wal holds committed transactions the main file lacks.
        // The -shm index is never copied: SQLite rebuilds it from the -wal.
        if (result["consistency"]["wal_bytes"].get<std::int64_t>() > 0)
            files.push_back(file.filename().string() + "-wal");
        result["files_to_copy"] = std::move(files);
        result["source_dir"] = file.parent_path().string();
        result["exclude"] = taskexec::json::array();
        result["mode"] = p.mode;
        result["engine"] = "sqlite";

        const auto max_hold = std::chrono::milliseconds(p.max_hold_ms);
        result["deadline_ms"] = epoch_ms(std::chrono::system_clock::now() + max_hold);
        result["max_hold_ms"] = p.max_hold_ms;
        result["lease_id"] = sqlite_leases().hold(std::move(session), max_hold);
        result["elapsed_ms"] = LeaseTable<SqliteSession>::ms_since(start);
        return result;
    }
};
TASKEXEC_ENGINE(SqliteQuiesceDb);

struct SqliteUnquiesceDb : UnquiesceDb, taskexec::Engine<"sqlite"> {
    taskexec::json execute(const UnquiesceParams& p, taskexec::Context& ctx) {
        return sqlite_leases().unquiesce(p, ctx.stop_token(),
                                         [](SqliteSession& s) { return s.release(); });
    }
};
TASKEXEC_ENGINE(SqliteUnquiesceDb);

}  // namespace
}  // namespace taskexec_examples
