// SQLite snapshot blocking (target 9): how long do writers wait while the
// `sales` workflow copies a live database, against the floor — the same
// files copied plainly (std::filesystem::copy_file) under a write lock we
// take ourselves? Target: workflow <= 1.1 x baseline + 10 ms.
//
//     TASKEXEC_BENCH_SQLITE_MB=200    database size (default 200; CTest uses 4)
//     TASKEXEC_BENCH_SQLITE_RUNS=5    baseline/workflow pairs (iterations)
//     TASKEXEC_BENCH_SQLITE_DIR=...   where the scratch directory goes ($TMPDIR)
//     TASKEXEC_BENCH_SQLITE_CHECKPOINT=passive  quiesce_db's `checkpoint` field
//                                     (default: the engine's own, truncate)
//     TASKEXEC_BENCH_SQLITE_VERBOSE=1 print each workflow run's timeline: the
//                                     run's events and the writer's attempts
//                                     that took over 2 ms, from the run's start
//
// Each iteration runs one pair, baseline first, on the same database (WAL,
// as `taskexec demo` creates it) with a writer thread inserting one row per
// transaction. The writer measures, for every attempt, the time from its
// start to the return of COMMIT; the longest attempt of a phase is how long
// writes were blocked. Pairs are interleaved so drift in the machine's load
// hits both sides alike; the counters are medians over the pairs.
//
// Every copy is verified: integrity_check, and the writer's rows form
// exactly the prefix committed before the release (nothing torn, nothing
// missed). After each phase the writer must commit again, and a fresh
// connection must take the write lock at once. A failed check makes the
// binary exit 1, so the CTest smoke entry catches it.
#include <benchmark/benchmark.h>

#include <stdlib.h>
#include <unistd.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "sqlite_db.hpp"
#include "sqlite_workload.hpp"

namespace {

namespace fs = std::filesystem;
namespace sq = taskexec_examples::sqlite;
namespace wl = taskexec_examples::workload;
using clock_type = std::chrono::steady_clock;
using taskexec::json;

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::int64_t env_int(const char* name, std::int64_t fallback) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return fallback;
    return std::stoll(text);
}

/// Set by any failed check; main() turns it into the exit status.
std::atomic<bool> check_failed{false};

// ---------------------------------------------------------------- database

/// The scratch directory and the database in it, created on first use (so
/// --benchmark_list_tests writes nothing) and removed at exit.
class Database {
public:
    static Database& instance() {
        static Database db;
        return db;
    }
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;
    ~Database() {
        std::error_code ignored;
        fs::remove_all(dir_, ignored);
    }

    const fs::path& dir() const { return dir_; }
    const fs::path& file() const { return file_; }
    std::int64_t bytes() const { return bytes_; }
    const wl::Setup& setup() const { return setup_; }

private:
    Database() {
        const char* base = std::getenv("TASKEXEC_BENCH_SQLITE_DIR");
        const fs::path parent =
            base != nullptr && *base != '\0' ? fs::path(base) : fs::temp_directory_path();
        std::string pattern = (parent / "taskexec-bench-sqlite-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("cannot create the scratch directory");
        dir_ = pattern;
        file_ = dir_ / "sales.db";
        // The demo's database (WAL, accounts, sample orders) plus filler.
        wl::create_database(file_.string(), setup_);
        const std::int64_t mb = std::max<std::int64_t>(1, env_int("TASKEXEC_BENCH_SQLITE_MB", 200));
        bytes_ = fill(mb << 20);
        // Start every run from clean page-cache state: the source cached,
        // nothing dirty waiting to be written back in the middle of a copy.
        ::sync();
    }

    /// Grows the file to about `target` bytes with 4000-byte random blobs
    /// (one per page, incompressible) and adds the writer's table. The bulk
    /// load runs in rollback mode, then the file goes back to WAL.
    std::int64_t fill(std::int64_t target) {
        sq::Connection db = sq::open(file_.string(), SQLITE_OPEN_READWRITE);
        sq::exec(db.get(), "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF");
        sq::exec(db.get(),
                 "CREATE TABLE filler(id INTEGER PRIMARY KEY, data BLOB NOT NULL);"
                 "CREATE TABLE bench_writes(id INTEGER PRIMARY KEY, at INTEGER NOT NULL)");
        auto size = [&] {
            return sq::query_int(db.get(), "PRAGMA page_count") *
                   sq::query_int(db.get(), "PRAGMA page_size");
        };
        while (size() < target) {
            sq::exec(
                db.get(),
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1024)"
                " INSERT INTO filler(data) SELECT randomblob(4000) FROM n");
        }
        if (sq::query_text(db.get(), "PRAGMA journal_mode=WAL") != "wal")
            throw std::runtime_error("SQLite refused WAL mode");
        return size();
    }

    wl::Setup setup_{"wal", 100, 1000, 20000};
    fs::path dir_, file_;
    std::int64_t bytes_ = 0;
};

// ------------------------------------------------------------------ writer

/// A thread inserting one row per transaction into bench_writes(id, at),
/// ids consecutive, until stopped. Each attempt is timed from its start to
/// the return of COMMIT; a 1 ms pause separates attempts, as a busy client
/// would, so a lock holder can get in. The busy handler polls every 200 us,
/// so a freed lock is noticed within a fraction of a millisecond.
class BlockedWriter {
public:
    struct Attempt {
        clock_type::time_point start, committed;
    };

    explicit BlockedWriter(const fs::path& db) : path_(db.string()) {
        {
            // Closed before the thread starts: the last connection to close
            // checkpoints and removes the -wal under an exclusive lock.
            sq::Connection probe = sq::open(path_, SQLITE_OPEN_READWRITE);
            first_id_ =
                sq::query_int(probe.get(), "SELECT COALESCE(MAX(id), 0) FROM bench_writes") + 1;
        }
        thread_ = std::thread([this] { run(); });
    }
    BlockedWriter(const BlockedWriter&) = delete;
    BlockedWriter& operator=(const BlockedWriter&) = delete;
    ~BlockedWriter() { stop(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

    /// The id the first commit of this writer got.
    std::int64_t first_id() const { return first_id_; }
    std::int64_t commit_count() const { return count_.load(); }
    std::vector<Attempt> attempts() const {
        std::lock_guard lock(mutex_);
        return attempts_;
    }
    std::string error() const {
        std::lock_guard lock(mutex_);
        return error_;
    }

    /// Waits until at least `n` commits are logged; false after `timeout`.
    bool wait_for_commits(std::int64_t n, std::chrono::milliseconds timeout) const {
        const auto until = clock_type::now() + timeout;
        while (count_.load() < n) {
            if (clock_type::now() >= until || !error().empty()) return false;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        return true;
    }

private:
    struct Busy {
        clock_type::time_point deadline;
        static int callback(void* self, int /*count*/) {
            if (clock_type::now() >= static_cast<Busy*>(self)->deadline) return 0;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            return 1;
        }
    };

    void run() {
        try {
            sq::Connection db = sq::open(path_, SQLITE_OPEN_READWRITE);
            sq::exec(db.get(), "PRAGMA synchronous=NORMAL");  // as the demo's writer
            Busy busy{clock_type::now() + std::chrono::seconds(120)};
            sqlite3_busy_handler(db.get(), &Busy::callback, &busy);
            sq::Statement insert =
                sq::prepare(db.get(), "INSERT INTO bench_writes(id, at) VALUES(?, ?)");
            for (std::int64_t id = first_id_; !stop_; ++id) {
                const auto start = clock_type::now();
                busy.deadline = start + std::chrono::seconds(120);
                sq::exec(db.get(), "BEGIN IMMEDIATE");
                sqlite3_bind_int64(insert.get(), 1, id);
                sqlite3_bind_int64(insert.get(), 2, start.time_since_epoch().count());
                try {
                    sq::step(db.get(), insert.get());
                    sqlite3_reset(insert.get());
                    sq::exec(db.get(), "COMMIT");
                } catch (...) {
                    sqlite3_reset(insert.get());
                    sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
                    throw;
                }
                const auto committed = clock_type::now();
                {
                    std::lock_guard lock(mutex_);
                    attempts_.push_back({start, committed});
                }
                ++count_;
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            error_ = std::string("writer stopped: ") + e.what();
        }
    }

    std::string path_;
    std::int64_t first_id_ = 1;
    mutable std::mutex mutex_;
    std::vector<Attempt> attempts_;
    std::string error_;
    std::atomic<std::int64_t> count_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// ------------------------------------------------------------------ phases

/// What one phase (baseline or workflow) measured.
struct Phase {
    double blocked_ms = 0;  ///< the writer's longest attempt
    double held_ms = 0;     ///< from the lock taken to the release begun
    double copy_ms = 0;     ///< the file copy alone
    bool ok = true;
};

void fail(benchmark::State& state, const std::string& why) {
    check_failed = true;
    std::fprintf(stderr, "bench_sqlite_snapshot: FAILED: %s\n", why.c_str());
    state.SkipWithError(why.c_str());
}

/// The copy holds exactly the writer's rows committed before the release, as
/// a gap-free prefix, and passes integrity_check.
bool verify_copy(benchmark::State& state, const fs::path& copy, const BlockedWriter& writer,
                 clock_type::time_point released, const char* phase) {
    std::int64_t expected = writer.first_id() - 1;
    for (const BlockedWriter::Attempt& a : writer.attempts())
        if (a.committed < released) ++expected;
    sq::Connection db = sq::open(copy.string(), SQLITE_OPEN_READWRITE);  // replays a -wal
    const std::string integrity = sq::query_text(db.get(), "PRAGMA integrity_check");
    const std::int64_t rows = sq::query_int(db.get(), "SELECT COUNT(*) FROM bench_writes");
    const std::int64_t max_id =
        sq::query_int(db.get(), "SELECT COALESCE(MAX(id), 0) FROM bench_writes");
    const std::int64_t total = sq::query_int(db.get(), "SELECT SUM(bal) FROM acct");
    const bool ok = integrity == "ok" && rows == max_id && rows == expected &&
                    total == wl::expected_total(Database::instance().setup());
    if (!ok)
        fail(state, std::string(phase) + ": inconsistent copy (integrity_check " + integrity +
                        ", rows " + std::to_string(rows) + ", max id " + std::to_string(max_id) +
                        ", committed before the release " + std::to_string(expected) + ")");
    return ok;
}

/// After a phase: the writer commits again, and nothing holds the write
/// lock (a fresh connection takes it without waiting).
bool verify_writable(benchmark::State& state, BlockedWriter& writer, const char* phase) {
    const bool resumed =
        writer.wait_for_commits(writer.commit_count() + 1, std::chrono::seconds(10));
    writer.stop();
    bool free_lock = false;
    {
        sq::Connection db = sq::open(Database::instance().file().string(), SQLITE_OPEN_READWRITE);
        free_lock =
            sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
        sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    if (!resumed || !free_lock || !writer.error().empty()) {
        fail(state, std::string(phase) + ": database not writable afterwards (" +
                        (resumed ? "" : "writer did not resume; ") +
                        (free_lock ? "" : "write lock still held; ") + writer.error() + ")");
        return false;
    }
    return true;
}

/// How long writes were blocked: the writer's longest attempt.
double longest_attempt_ms(const BlockedWriter& writer) {
    clock_type::duration longest{};
    for (const BlockedWriter::Attempt& a : writer.attempts())
        longest = std::max(longest, a.committed - a.start);
    return ms(longest);
}

/// Where the workflow's blocked time went: run events and slow attempts.
void print_timeline(clock_type::time_point origin,
                    const std::vector<std::pair<std::string, clock_type::time_point>>& events,
                    const BlockedWriter& writer) {
    for (const auto& [what, at] : events)
        std::fprintf(stderr, "  %9.2f ms  %s\n", ms(at - origin), what.c_str());
    for (const BlockedWriter::Attempt& a : writer.attempts())
        if (a.committed - a.start > std::chrono::milliseconds(2))
            std::fprintf(stderr, "  %9.2f ms  writer attempt blocked until %.2f ms (%.2f ms)\n",
                         ms(a.start - origin), ms(a.committed - origin), ms(a.committed - a.start));
}

/// Lets the writer get going, so the hold interrupts real traffic.
void start_writer(benchmark::State& state, BlockedWriter& writer) {
    if (!writer.wait_for_commits(20, std::chrono::seconds(10)))
        fail(state, "the writer did not get going: " + writer.error());
}

/// The floor: BEGIN IMMEDIATE on our own connection, copy the database and
/// its -wal with std::filesystem::copy_file, ROLLBACK.
Phase run_baseline(benchmark::State& state, const fs::path& destination) {
    const Database& db = Database::instance();
    Phase phase;
    BlockedWriter writer(db.file());
    start_writer(state, writer);

    fs::create_directories(destination);
    sq::Connection holder = sq::open(db.file().string(), SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(holder.get(), 10000);  // waiting for the lock blocks nobody
    sq::exec(holder.get(), "BEGIN IMMEDIATE");
    const auto locked = clock_type::now();
    fs::copy_file(db.file(), destination / db.file().filename());
    const fs::path wal = db.file().string() + "-wal";
    std::error_code ec;
    if (fs::exists(wal, ec) && fs::file_size(wal, ec) > 0)
        fs::copy_file(wal, destination / wal.filename());
    const auto released = clock_type::now();
    sq::exec(holder.get(), "ROLLBACK");
    holder.reset();
    phase.copy_ms = ms(released - locked);
    phase.held_ms = phase.copy_ms;

    phase.ok = verify_writable(state, writer, "baseline");
    phase.blocked_ms = longest_attempt_ms(writer);
    phase.ok =
        verify_copy(state, destination / db.file().filename(), writer, released, "baseline") &&
        phase.ok;
    return phase;
}

/// The measured side: run_workflow("sales", "sqlite", ...) as the demo
/// calls it, unthrottled.
Phase run_sales(benchmark::State& state, const fs::path& destination, json& details) {
    const Database& db = Database::instance();
    Phase phase;
    BlockedWriter writer(db.file());
    start_writer(state, writer);

    clock_type::time_point quiesced{}, releasing{};
    std::vector<std::pair<std::string, clock_type::time_point>> events;
    taskexec::RunOptions options;
    const auto origin = clock_type::now();
    options.on_event = [&](const json& e) {
        const std::string event = e.value("event", std::string());
        const std::string task = e.value("task", std::string());
        events.emplace_back(event + " " + task, clock_type::now());
        if (event == "step_finished" && task == "quiesce_db") quiesced = clock_type::now();
        if ((event == "step_started" || event == "compensation_started") &&
            task == "unquiesce_db" && releasing == clock_type::time_point{})
            releasing = clock_type::now();
    };
    json payload = {{"path", db.file().string()},
                    {"snapshot_dir", destination.string()},
                    {"max_hold_ms", 60000},
                    {"acquire_timeout_ms", 10000},
                    {"label", "taskexec-bench"}};
    if (const char* mode = std::getenv("TASKEXEC_BENCH_SQLITE_CHECKPOINT"); mode && *mode)
        payload["checkpoint"] = mode;
    const taskexec::RunReport report = taskexec::run_workflow("sales", "sqlite", payload, options);
    if (!report.ok) {
        writer.stop();
        fail(state, "the sales workflow failed: " + report.to_json().dump());
        phase.ok = false;
        return phase;
    }
    const json& quiesce = report.steps[0].result;
    const json& copied = report.steps[1].result;
    phase.copy_ms = copied.value("elapsed_ms", 0.0);
    phase.held_ms = ms(releasing - quiesced);
    details = {{"quiesce_ms", quiesce.value("elapsed_ms", 0.0)},
               {"checkpoint", quiesce.value("checkpoint", json::object())}};

    phase.ok = verify_writable(state, writer, "workflow");
    phase.blocked_ms = longest_attempt_ms(writer);
    if (env_int("TASKEXEC_BENCH_SQLITE_VERBOSE", 0) != 0) print_timeline(origin, events, writer);
    phase.ok =
        verify_copy(state, destination / db.file().filename(), writer, releasing, "workflow") &&
        phase.ok;
    return phase;
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t mid = v.size() / 2;
    return v.size() % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/// One iteration = one baseline/workflow pair; manual time = the workflow's
/// blocked time, so the benchmark's own time column is the measured side.
void run_pairs(benchmark::State& state) {
    const Database& db = Database::instance();
    std::vector<double> base_blocked, base_copy, sales_blocked, sales_copy, sales_held, quiesce_ms;
    int pair = 0;
    for (auto _ : state) {
        const fs::path base_dir = db.dir() / ("baseline-" + std::to_string(pair));
        const fs::path sales_dir = db.dir() / ("snapshot-" + std::to_string(pair));
        const Phase base = run_baseline(state, base_dir);
        fs::remove_all(base_dir);
        ::sync();
        json details;
        const Phase sales = run_sales(state, sales_dir, details);
        fs::remove_all(sales_dir);
        ::sync();
        if (!base.ok || !sales.ok) break;

        base_blocked.push_back(base.blocked_ms);
        base_copy.push_back(base.copy_ms);
        sales_blocked.push_back(sales.blocked_ms);
        sales_copy.push_back(sales.copy_ms);
        sales_held.push_back(sales.held_ms);
        quiesce_ms.push_back(details.value("quiesce_ms", 0.0));
        state.SetIterationTime(sales.blocked_ms / 1000.0);
        std::fprintf(stderr,
                     "pair %d: baseline blocked %.1f ms (copy %.1f ms) | workflow blocked %.1f "
                     "ms (quiesce %.1f ms, held %.1f ms, snapshot_files %.1f ms) %s\n",
                     pair, base.blocked_ms, base.copy_ms, sales.blocked_ms,
                     details.value("quiesce_ms", 0.0), sales.held_ms, sales.copy_ms,
                     details["checkpoint"].dump().c_str());
        ++pair;
    }
    if (base_blocked.empty()) return;

    const double base = median(base_blocked);
    const double sales = median(sales_blocked);
    const double limit = 1.1 * base + 10.0;
    state.counters["db_mb"] = static_cast<double>(db.bytes()) / (1 << 20);
    state.counters["baseline_blocked_ms"] = base;
    state.counters["copy_ms"] = median(base_copy);
    state.counters["workflow_blocked_ms"] = sales;
    state.counters["workflow_held_ms"] = median(sales_held);
    state.counters["quiesce_ms"] = median(quiesce_ms);
    state.counters["snapshot_files_ms"] = median(sales_copy);
    state.counters["ratio"] = base > 0 ? sales / base : 0;
    state.counters["limit_ms"] = limit;
    state.counters["target_met"] = sales <= limit ? 1 : 0;
}

void BM_sales_snapshot_blocking(benchmark::State& state) {
    try {
        run_pairs(state);
    } catch (const std::exception& e) {
        fail(state, std::string("unexpected error: ") + e.what());
    }
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    const std::int64_t runs = std::max<std::int64_t>(1, env_int("TASKEXEC_BENCH_SQLITE_RUNS", 5));
    benchmark::RegisterBenchmark("BM_sales_snapshot_blocking", BM_sales_snapshot_blocking)
        ->Iterations(runs)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return check_failed ? 1 : 0;
}
