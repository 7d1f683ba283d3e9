// tests/integration/support/workload.hpp — the SQLite side of the shared
// workload (EXAMPLES.md "Proving it"), for the integration tests.
//
//     taskexec_it::SqliteDb db("wal");                 // temp dir + sales.db + schema
//     taskexec_examples::workload::Writer writer(db.path());
//     auto before = taskexec_it::hash_files(db.dir(), {"sales.db", "sales.db-wal"});
//     ...
//     CHECK(taskexec_it::write_lock_free(db.path()));
//
// The writer and the schema live in examples/workload (the demo uses them
// too); this header adds what only tests need: temp databases, file hashes,
// probes of the write lock, a connection that holds the lock, and a search
// for a sentinel string in anything a run produced.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "process.hpp"
#include "sqlite_db.hpp"
#include "sqlite_workload.hpp"

namespace taskexec_it {

namespace workload = taskexec_examples::workload;

/// A fresh workload database (sales.db) in its own temp directory.
class SqliteDb {
public:
    /// `journal_mode`: "wal" or "delete".
    explicit SqliteDb(const std::string& journal_mode, int sample_orders = 0);

    const std::filesystem::path& dir() const noexcept { return dir_.path(); }
    std::string path() const { return (dir_.path() / "sales.db").string(); }
    std::string snapshot_dir() const { return (dir_.path() / "snapshot").string(); }
    const workload::Setup& setup() const noexcept { return setup_; }

private:
    TempDir dir_;
    workload::Setup setup_;
};

/// SHA-256 of each named file in `dir` that exists (name -> hex).
std::map<std::string, std::string> hash_files(const std::filesystem::path& dir,
                                              const std::vector<std::string>& names);

/// True if another connection could take the write lock right now
/// (BEGIN IMMEDIATE with no busy wait, then ROLLBACK).
bool write_lock_free(const std::string& path);

/// A second connection holding the write lock (BEGIN IMMEDIATE) until
/// destroyed: "someone else is writing".
class LockHolder {
public:
    explicit LockHolder(const std::string& path);
    ~LockHolder();
    LockHolder(const LockHolder&) = delete;
    LockHolder& operator=(const LockHolder&) = delete;

private:
    taskexec_examples::sqlite::Connection db_;
};

/// `base` with `extra`'s top-level keys merged in (as a workflow run does).
taskexec::json merged(taskexec::json base, const taskexec::json& extra);

/// The text of the db_error (or any exception) a call threw; "" if none.
template <class Fn>
std::string error_of(Fn&& fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

}  // namespace taskexec_it
