// tests/integration/support/sql_workload.cpp — see sql_workload.hpp.
#include "sql_workload.hpp"

#include <memory>
#include <utility>

#include "sql_clients.hpp"

namespace taskexec_it {

namespace {

std::string acct_rows() {
    std::string values;
    for (int id = 1; id <= workload_rows; ++id)
        values += (id > 1 ? ", (" : "(") + std::to_string(id) + ", " +
                  std::to_string(workload_start_balance) + ")";
    return values;
}

// Rows `seq % rows + 1` and the next one: every pair gets traffic.
std::pair<int, int> rows_for(std::int64_t seq) {
    const int from = static_cast<int>(seq % workload_rows) + 1;
    return {from, from % workload_rows + 1};
}

}  // namespace

void create_pg_workload(const PostgresServer& server, const std::string& db,
                        const std::string& owner) {
    server.exec("CREATE DATABASE " + db + " OWNER " + owner);
    server.exec("SET ROLE " + owner +
                    ";"
                    "CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL);"
                    "CREATE TABLE events (seq bigint PRIMARY KEY, at timestamptz DEFAULT now());"
                    "INSERT INTO acct VALUES " +
                    acct_rows(),
                db);
}

void create_my_workload(const MariaDbServer& server, const std::string& db) {
    server.exec("CREATE DATABASE " + db);
    server.exec("CREATE TABLE " + db +
                ".acct (id int PRIMARY KEY, bal bigint NOT NULL) ENGINE=InnoDB");
    server.exec("CREATE TABLE " + db +
                ".events (seq bigint PRIMARY KEY, at timestamp(6) DEFAULT CURRENT_TIMESTAMP(6)) "
                "ENGINE=InnoDB");
    server.exec("INSERT INTO " + db + ".acct VALUES " + acct_rows());
}

TransferStep pg_transfer(const std::string& conninfo) {
    auto client = std::make_shared<PgClient>(conninfo);
    return [client](std::int64_t seq) {
        const auto [from, to] = rows_for(seq);
        client->exec(
            "BEGIN;"
            "UPDATE acct SET bal = bal - 1 WHERE id = " +
            std::to_string(from) +
            ";"
            "UPDATE acct SET bal = bal + 1 WHERE id = " +
            std::to_string(to) +
            ";"
            "INSERT INTO events (seq) VALUES (" +
            std::to_string(seq) +
            ");"
            "COMMIT");
    };
}

TransferStep my_transfer(const std::string& socket, const std::string& db) {
    auto client = std::make_shared<MyClient>(socket, "root", "", db);
    return [client](std::int64_t seq) {
        const auto [from, to] = rows_for(seq);
        try {
            client->exec("START TRANSACTION");
            client->exec("UPDATE acct SET bal = bal - 1 WHERE id = " + std::to_string(from));
            client->exec("UPDATE acct SET bal = bal + 1 WHERE id = " + std::to_string(to));
            client->exec("INSERT INTO events (seq) VALUES (" + std::to_string(seq) + ")");
            client->exec("COMMIT");
        } catch (const SqlError&) {
            try {
                client->exec("ROLLBACK");
            } catch (const SqlError&) {}
            throw;
        }
    };
}

Writer::Writer(TransferStep step, std::chrono::milliseconds pause)
    : step_(std::move(step)), pause_(pause), thread_([this] { run(); }) {}

Writer::~Writer() { stop(); }

void Writer::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

void Writer::run() {
    std::int64_t seq = 1;
    while (!stop_) {
        try {
            step_(seq);
            {
                std::lock_guard lock(mutex_);
                commit_times_.push_back(clock::now());
            }
            committed_ = seq++;
        } catch (const std::exception&) {
            ++failures_;
        }
        std::this_thread::sleep_for(pause_);
    }
}

std::int64_t Writer::committed_since(clock::time_point since) const {
    std::lock_guard lock(mutex_);
    std::int64_t n = 0;
    for (const auto& t : commit_times_)
        if (t >= since) ++n;
    return n;
}

bool Writer::wait_for_commits(std::int64_t n, std::chrono::milliseconds timeout) const {
    const auto until = clock::now() + timeout;
    while (committed() < n) {
        if (clock::now() >= until) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace taskexec_it
