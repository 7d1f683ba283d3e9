// examples/workload/sqlite_workload.hpp — the shared SQLite workload of
// EXAMPLES.md, used by `taskexec demo` and the integration tests.
//
//     workload::create_database(path, {.journal_mode = "wal"});
//     workload::Writer writer(path);          // starts committing at once
//     ... quiesce, copy, unquiesce ...
//     writer.stop();
//     workload::Contents copy = workload::inspect(snapshot_path);
//     // copy.total == expected_total(...), copy.seqs == writer's commits <= copy.max_seq
//
// Table acct(id, bal) keeps a constant total: every writer transaction moves
// one unit between two rows and inserts an event with the next sequence
// number, then logs that number with the time COMMIT returned. A copy that
// is consistent therefore keeps the total and holds exactly a prefix 1..N of
// the sequence; a torn copy shows up as a wrong total, a gap, or a failed
// integrity_check.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace taskexec_examples::workload {

using clock_type = std::chrono::steady_clock;

/// How create_database() fills a new file.
struct Setup {
    std::string journal_mode = "wal";  ///< "wal", or a rollback-journal mode ("delete", ...)
    int accounts = 100;
    std::int64_t balance = 1000;  ///< initial balance of every account
    int sample_orders = 0;        ///< rows of a static `orders` table (the demo's sales data)
};

/// Creates the schema and rows in a new file (throws std::runtime_error if
/// the file exists or SQLite fails).
void create_database(const std::string& path, const Setup& setup);

/// accounts * balance: what every consistent copy must sum to.
constexpr std::int64_t expected_total(const Setup& s) { return s.accounts * s.balance; }

/// One logged commit.
struct Commit {
    std::int64_t seq;
    clock_type::time_point at;  ///< right after COMMIT returned
};

/// A thread committing transfers until stopped. Thread-safe observers.
class Writer {
public:
    struct Options {
        std::chrono::milliseconds pause{2};             ///< between transactions
        std::chrono::milliseconds busy_timeout{60000};  ///< give up waiting for the lock
    };

    /// Opens its own connection and starts the thread.
    explicit Writer(std::string path);
    Writer(std::string path, Options options);
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    ~Writer();

    /// Stops after the transaction in progress; idempotent.
    void stop();

    /// Every commit so far, in order.
    std::vector<Commit> commits() const;
    /// The last committed sequence number (0: none yet).
    std::int64_t last_seq() const { return last_seq_.load(); }
    /// Transactions attempted / those that had to wait for the lock.
    std::int64_t attempts() const { return attempts_.load(); }
    std::int64_t waited_attempts() const { return waited_.load(); }
    /// The longest time one transaction waited for the lock.
    clock_type::duration longest_wait() const;
    /// Why the thread stopped on its own ("" while healthy). Has no values.
    std::string error() const;

    /// Waits until a commit with seq > `after` is logged; returns its time,
    /// or clock_type::time_point{} after `timeout`.
    clock_type::time_point wait_for_commit_after(std::int64_t after,
                                                 std::chrono::milliseconds timeout) const;

private:
    void run();

    std::string path_;
    Options options_;
    mutable std::mutex mutex_;
    std::vector<Commit> commits_;
    clock_type::duration longest_wait_{};
    std::string error_;
    std::atomic<std::int64_t> last_seq_{0};
    std::atomic<std::int64_t> attempts_{0};
    std::atomic<std::int64_t> waited_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

/// What a database (or a copy of one) holds.
struct Contents {
    std::string integrity;   ///< PRAGMA integrity_check: "ok" when sound
    std::int64_t total = 0;  ///< SUM(bal)
    std::int64_t accounts = 0;
    std::int64_t events = 0;  ///< COUNT(*) of events
    std::int64_t max_seq = 0;
    std::vector<std::int64_t> seqs;  ///< every event's seq, ascending
    std::int64_t orders = 0;         ///< COUNT(*) of orders (0 if none)
};

/// Opens `path` (read-write, so a copied -wal is replayed) and reads it.
/// Opening changes the files (SQLite checkpoints a -wal when it closes).
Contents inspect(const std::string& path);

/// inspect() on a scratch copy of `db` and its -wal, so a snapshot stays
/// byte for byte as it was taken (and its recorded hashes stay true).
Contents inspect_pristine(const std::string& db);

}  // namespace taskexec_examples::workload
