// examples/tasks/sqlite_db.hpp — the little of libsqlite3 the examples need,
// with ownership: a connection that closes itself, statements that finalize
// themselves, and error text that never quotes a value.
//
//     sqlite::Connection db = sqlite::open(path, SQLITE_OPEN_READWRITE);
//     sqlite::exec(db.get(), "BEGIN IMMEDIATE");
//     std::int64_t pages = sqlite::query_int(db.get(), "PRAGMA page_count");
//
// Errors: sqlite::failure carries the result code. Its what() is
// sqlite3_errstr(rc) — text chosen by the code alone — rather than
// sqlite3_errmsg(), which can name tables, columns or files.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <sqlite3.h>

namespace taskexec_examples::sqlite {

/// A failed SQLite call: the (extended) result code and its generic text.
class failure : public std::runtime_error {
public:
    explicit failure(int rc) : std::runtime_error(sqlite3_errstr(rc)), rc_(rc) {}
    int code() const noexcept { return rc_; }
    /// The primary result code (SQLITE_BUSY for SQLITE_BUSY_SNAPSHOT, ...).
    int primary() const noexcept { return rc_ & 0xff; }

private:
    int rc_;
};

/// "SQLITE_BUSY (5)"-style native code for errors and results.
inline std::string native_code(int rc) {
    const char* name = nullptr;
    switch (rc & 0xff) {
        case SQLITE_ERROR: name = "SQLITE_ERROR"; break;
        case SQLITE_PERM: name = "SQLITE_PERM"; break;
        case SQLITE_BUSY: name = "SQLITE_BUSY"; break;
        case SQLITE_LOCKED: name = "SQLITE_LOCKED"; break;
        case SQLITE_NOMEM: name = "SQLITE_NOMEM"; break;
        case SQLITE_READONLY: name = "SQLITE_READONLY"; break;
        case SQLITE_INTERRUPT: name = "SQLITE_INTERRUPT"; break;
        case SQLITE_IOERR: name = "SQLITE_IOERR"; break;
        case SQLITE_CORRUPT: name = "SQLITE_CORRUPT"; break;
        case SQLITE_FULL: name = "SQLITE_FULL"; break;
        case SQLITE_CANTOPEN: name = "SQLITE_CANTOPEN"; break;
        case SQLITE_PROTOCOL: name = "SQLITE_PROTOCOL"; break;
        case SQLITE_AUTH: name = "SQLITE_AUTH"; break;
        case SQLITE_NOTADB: name = "SQLITE_NOTADB"; break;
        case SQLITE_MISUSE: name = "SQLITE_MISUSE"; break;
        default: break;
    }
    const std::string number = std::to_string(rc);
    return name == nullptr ? "SQLite rc " + number : std::string(name) + " (" + number + ")";
}

/// Closes with sqlite3_close_v2, which is safe even if a statement leaked.
struct ConnectionCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

struct StatementFinalizer {
    void operator()(sqlite3_stmt* st) const noexcept { sqlite3_finalize(st); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

/// Opens `path` with `flags` (never creating it unless SQLITE_OPEN_CREATE is
/// given), with extended result codes on. Throws failure.
inline Connection open(const std::string& path, int flags) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Connection db(raw);  // a handle is returned even on failure; close it
    if (rc != SQLITE_OK) throw failure(rc);
    sqlite3_extended_result_codes(db.get(), 1);
    return db;
}

/// Runs SQL without results (may hold several statements). Throws failure.
inline void exec(sqlite3* db, const char* sql) {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw failure(sqlite3_extended_errcode(db));
}

/// Prepares one statement. Throws failure.
inline Statement prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
    Statement st(raw);
    if (rc != SQLITE_OK) throw failure(sqlite3_extended_errcode(db));
    return st;
}

/// Steps a statement once; true if it produced a row. Throws failure.
inline bool step(sqlite3* db, sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    (void)db;
    throw failure(rc);
}

/// The first column of the first row as an integer (0 when there is no row).
inline std::int64_t query_int(sqlite3* db, const char* sql) {
    Statement st = prepare(db, sql);
    return step(db, st.get()) ? sqlite3_column_int64(st.get(), 0) : 0;
}

/// The first column of the first row as text ("" when there is no row).
inline std::string query_text(sqlite3* db, const char* sql) {
    Statement st = prepare(db, sql);
    if (!step(db, st.get())) return {};
    const unsigned char* text = sqlite3_column_text(st.get(), 0);
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

}  // namespace taskexec_examples::sqlite
