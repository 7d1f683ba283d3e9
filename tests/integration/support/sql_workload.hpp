// tests/integration/support/sql_workload.hpp — the shared workload of the
// server tests (EXAMPLES.md): table acct(id, bal) with a constant total, and
// a writer that moves one unit between two rows and inserts an event with an
// increasing sequence number, logging every committed number.
//
//     taskexec_it::create_pg_workload(pg, "shop", "tester");
//     taskexec_it::Writer writer(taskexec_it::pg_transfer(pg.admin_conninfo("shop")));
//     writer.wait_for_commits(10, 5s);
//     ... quiesce, copy, unquiesce ...
//     writer.stop();
//     CHECK(writer.committed() > 0);
//
// Sequence numbers are dense: a failed transaction is retried with the same
// number, so in any consistent copy the events are exactly 1..max(seq).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "servers.hpp"

namespace taskexec_it {

/// Rows in acct, and the balance each starts with: the total never changes.
constexpr int workload_rows = 10;
constexpr int workload_start_balance = 1000;
constexpr std::int64_t workload_total = std::int64_t{workload_rows} * workload_start_balance;

/// Creates database `db` (owned by `owner`) with acct and events.
void create_pg_workload(const PostgresServer& server, const std::string& db,
                        const std::string& owner);
/// Creates database `db` with acct and events (InnoDB) on MariaDB.
void create_my_workload(const MariaDbServer& server, const std::string& db);

/// One transfer-and-event transaction for sequence number `seq`; throws on
/// failure (the connection stays usable).
using TransferStep = std::function<void(std::int64_t seq)>;

/// A step on its own libpq connection (opened now, used on the writer thread).
TransferStep pg_transfer(const std::string& conninfo);
/// A step on its own libmariadb connection (root over the socket) in `db`.
TransferStep my_transfer(const std::string& socket, const std::string& db);

/// A thread committing transfers back to back (with `pause` between them).
class Writer {
public:
    using clock = std::chrono::steady_clock;

    explicit Writer(TransferStep step,
                    std::chrono::milliseconds pause = std::chrono::milliseconds(2));
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /// Stops after the transaction in flight; idempotent.
    void stop();
    /// The highest committed sequence number (all below it are committed too).
    std::int64_t committed() const { return committed_.load(); }
    /// Failed attempts so far (retried with the same number).
    std::int64_t failures() const { return failures_.load(); }
    /// Commits that completed at or after `since`.
    std::int64_t committed_since(clock::time_point since) const;
    /// Waits until committed() >= n; false on timeout.
    bool wait_for_commits(std::int64_t n, std::chrono::milliseconds timeout) const;

private:
    void run();

    TransferStep step_;
    std::chrono::milliseconds pause_;
    std::atomic<bool> stop_{false};
    std::atomic<std::int64_t> committed_{0};
    std::atomic<std::int64_t> failures_{0};
    mutable std::mutex mutex_;
    std::vector<clock::time_point> commit_times_;  // index = seq - 1
    std::thread thread_;
};

/// A statement started on another thread, to see whether it is blocked.
///
///     Pending insert([&] { client.exec("INSERT ..."); });
///     CHECK_FALSE(insert.done_within(700ms));   // waits on the lock
///     ... release ...
///     CHECK(insert.done_within(2s));
///     insert.get();                              // rethrows its error, if any
class Pending {
public:
    explicit Pending(std::function<void()> fn)
        : started_(clock::now()), future_(std::async(std::launch::async, std::move(fn))) {}
    using clock = std::chrono::steady_clock;

    bool done_within(std::chrono::milliseconds timeout) const {
        return future_.wait_for(timeout) == std::future_status::ready;
    }
    void get() { future_.get(); }
    clock::time_point started() const { return started_; }

private:
    clock::time_point started_;
    std::future<void> future_;
};

}  // namespace taskexec_it
