// examples/workload/sqlite_workload.cpp — see sqlite_workload.hpp.
#include "sqlite_workload.hpp"

#include <sqlite3.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "../tasks/sqlite_db.hpp"

namespace taskexec_examples::workload {

namespace sq = taskexec_examples::sqlite;

void create_database(const std::string& path, const Setup& setup) {
    if (std::filesystem::exists(path))
        throw std::runtime_error("workload: the database file already exists");
    sq::Connection db = sq::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    // journal_mode is the one setting that lives in the file (WAL); the
    // rollback modes are per connection and "delete" is the default.
    const std::string mode = setup.journal_mode == "wal" ? "wal" : "delete";
    const std::string got = sq::query_text(db.get(), ("PRAGMA journal_mode=" + mode).c_str());
    if (got != mode) throw std::runtime_error("workload: SQLite refused the journal mode");
    sq::exec(db.get(),
             "BEGIN;"
             "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER NOT NULL);"
             "CREATE TABLE events(seq INTEGER PRIMARY KEY, from_id INTEGER, to_id INTEGER,"
             "                    at TEXT DEFAULT CURRENT_TIMESTAMP);"
             "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT, item TEXT,"
             "                    quantity INTEGER, cents INTEGER);");
    {
        sq::Statement ins = sq::prepare(db.get(), "INSERT INTO acct(id, bal) VALUES(?, ?)");
        for (int id = 1; id <= setup.accounts; ++id) {
            sqlite3_bind_int(ins.get(), 1, id);
            sqlite3_bind_int64(ins.get(), 2, setup.balance);
            sq::step(db.get(), ins.get());
            sqlite3_reset(ins.get());
        }
    }
    {
        static const char* const customers[] = {"acme", "globex", "initech", "umbrella", "hooli"};
        static const char* const items[] = {"widget", "gizmo", "sprocket", "gadget"};
        sq::Statement ins = sq::prepare(
            db.get(), "INSERT INTO orders(customer, item, quantity, cents) VALUES(?, ?, ?, ?)");
        for (int i = 0; i < setup.sample_orders; ++i) {
            sqlite3_bind_text(ins.get(), 1, customers[i % 5], -1, SQLITE_STATIC);
            sqlite3_bind_text(ins.get(), 2, items[i % 4], -1, SQLITE_STATIC);
            sqlite3_bind_int(ins.get(), 3, 1 + i % 7);
            sqlite3_bind_int(ins.get(), 4, 199 + (i * 37) % 5000);
            sq::step(db.get(), ins.get());
            sqlite3_reset(ins.get());
        }
    }
    sq::exec(db.get(), "COMMIT");
}

Writer::Writer(std::string path) : Writer(std::move(path), Options{}) {}

Writer::Writer(std::string path, Options options)
    : path_(std::move(path)), options_(options), thread_([this] { run(); }) {}

Writer::~Writer() { stop(); }

void Writer::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::vector<Commit> Writer::commits() const {
    std::lock_guard lock(mutex_);
    return commits_;
}

clock_type::duration Writer::longest_wait() const {
    std::lock_guard lock(mutex_);
    return longest_wait_;
}

std::string Writer::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

clock_type::time_point Writer::wait_for_commit_after(std::int64_t after,
                                                     std::chrono::milliseconds timeout) const {
    const auto until = clock_type::now() + timeout;
    while (clock_type::now() < until) {
        {
            std::lock_guard lock(mutex_);
            const auto it = std::find_if(commits_.begin(), commits_.end(),
                                         [&](const Commit& c) { return c.seq > after; });
            if (it != commits_.end()) return it->at;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return {};
}

namespace {

/// Busy handler: note that this attempt waited and when, retry every 1 ms
/// (so a released lock is taken within about a millisecond).
struct WaitLog {
    clock_type::time_point deadline;
    clock_type::time_point first_wait{};
    bool waited = false;

    static int callback(void* self, int /*count*/) {
        auto* log = static_cast<WaitLog*>(self);
        const auto now = clock_type::now();
        if (!log->waited) {
            log->waited = true;
            log->first_wait = now;
        }
        if (now >= log->deadline) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return 1;
    }
};

}  // namespace

void Writer::run() {
    try {
        sq::Connection db = sq::open(path_, SQLITE_OPEN_READWRITE);
        sq::exec(db.get(), "PRAGMA synchronous=NORMAL");
        WaitLog wait;
        sqlite3_busy_handler(db.get(), &WaitLog::callback, &wait);
        std::int64_t seq = sq::query_int(db.get(), "SELECT COALESCE(MAX(seq), 0) FROM events");
        const std::int64_t accounts = sq::query_int(db.get(), "SELECT COUNT(*) FROM acct");
        if (accounts < 2) throw std::runtime_error("workload: fewer than two accounts");
        sq::Statement debit = sq::prepare(db.get(), "UPDATE acct SET bal = bal - 1 WHERE id = ?");
        sq::Statement credit = sq::prepare(db.get(), "UPDATE acct SET bal = bal + 1 WHERE id = ?");
        sq::Statement event =
            sq::prepare(db.get(), "INSERT INTO events(seq, from_id, to_id) VALUES(?, ?, ?)");
        while (!stop_) {
            const std::int64_t next = seq + 1;
            const std::int64_t from = 1 + next % accounts;
            const std::int64_t to = 1 + (next * 7 + 3) % accounts;
            wait = WaitLog{clock_type::now() + options_.busy_timeout};
            ++attempts_;
            sq::exec(db.get(), "BEGIN IMMEDIATE");
            try {
                for (auto [st, id] : {std::pair{debit.get(), from}, std::pair{credit.get(), to}}) {
                    sqlite3_bind_int64(st, 1, id);
                    sq::step(db.get(), st);
                    sqlite3_reset(st);
                }
                sqlite3_bind_int64(event.get(), 1, next);
                sqlite3_bind_int64(event.get(), 2, from);
                sqlite3_bind_int64(event.get(), 3, to);
                sq::step(db.get(), event.get());
                sqlite3_reset(event.get());
                sq::exec(db.get(), "COMMIT");
            } catch (...) {
                sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
                throw;
            }
            const auto now = clock_type::now();
            seq = next;
            {
                std::lock_guard lock(mutex_);
                commits_.push_back({seq, now});
                if (wait.waited) longest_wait_ = std::max(longest_wait_, now - wait.first_wait);
            }
            last_seq_ = seq;
            if (wait.waited) ++waited_;
            std::this_thread::sleep_for(options_.pause);
        }
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex_);
        error_ = std::string("writer stopped: ") + e.what();
    }
}

Contents inspect(const std::string& path) {
    sq::Connection db = sq::open(path, SQLITE_OPEN_READWRITE);
    Contents out;
    out.integrity = sq::query_text(db.get(), "PRAGMA integrity_check");
    out.total = sq::query_int(db.get(), "SELECT COALESCE(SUM(bal), 0) FROM acct");
    out.accounts = sq::query_int(db.get(), "SELECT COUNT(*) FROM acct");
    out.events = sq::query_int(db.get(), "SELECT COUNT(*) FROM events");
    out.max_seq = sq::query_int(db.get(), "SELECT COALESCE(MAX(seq), 0) FROM events");
    out.orders = sq::query_int(db.get(), "SELECT COUNT(*) FROM orders");
    sq::Statement st = sq::prepare(db.get(), "SELECT seq FROM events ORDER BY seq");
    while (sq::step(db.get(), st.get())) out.seqs.push_back(sqlite3_column_int64(st.get(), 0));
    return out;
}

Contents inspect_pristine(const std::string& db) {
    namespace fs = std::filesystem;
    const fs::path source(db);
    std::string pattern = (fs::temp_directory_path() / "taskexec-verify-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("workload: cannot create a scratch directory");
    const fs::path scratch(pattern);
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
    } cleanup{scratch};
    fs::copy_file(source, scratch / source.filename());
    const fs::path wal = source.string() + "-wal";
    if (fs::exists(wal)) fs::copy_file(wal, scratch / wal.filename());
    return inspect((scratch / source.filename()).string());
}

}  // namespace taskexec_examples::workload
