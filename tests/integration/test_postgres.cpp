// tests/integration/test_postgres.cpp — the postgres engine against a
// throwaway PostgreSQL 15 cluster (EXAMPLES.md, "Proving it").
//
// One cluster serves the whole file (initdb costs seconds); every test ends
// with require_writable(): an update commits at once and no taskexec session
// is left on the server, so no test can hide a database it left frozen.
#include <chrono>
#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include <taskexec/run.hpp>
#include <taskexec/taskexec.hpp>

#include "engine_checks.hpp"
#include "run_checks.hpp"
#include "servers.hpp"
#include "sql_clients.hpp"
#include "sql_workload.hpp"
#include "taskexec_catch.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using taskexec::json;
using taskexec_examples::db_error_kind;
using namespace taskexec_it;
using clock_type = std::chrono::steady_clock;

struct Cluster {
    PostgresServer server;
    Sentinel password{"TASKEXEC_IT_PG_PASSWORD"};

    Cluster() {
        // A login that is not a superuser: the grants are what a real
        // backup role needs.
        server.create_login("tester", password.value());
        create_pg_workload(server, "shop", "tester");
        // Function privileges live in each database's catalog: grant in shop.
        server.exec(
            "GRANT pg_read_all_settings TO tester;"
            "GRANT EXECUTE ON FUNCTION pg_backup_start(text, boolean) TO tester;"
            "GRANT EXECUTE ON FUNCTION pg_backup_stop(boolean) TO tester",
            "shop");
    }

    json payload(const json& extra = json::object()) const {
        return with({{"host", server.socket_dir()},
                     {"port", server.port()},
                     {"dbname", "shop"},
                     {"user", "tester"},
                     {"password_env", password.variable()},
                     {"label", "taskexec-it"},
                     {"acquire_timeout_ms", 5000}},
                    extra);
    }
    std::string conninfo() const { return server.admin_conninfo("shop"); }

    std::string taskexec_sessions() const {
        return server.query_value(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'taskexec'");
    }

    /// No database left frozen: no holder session remains (its end aborts
    /// any backup), and an update commits without waiting.
    void require_writable() const {
        for (int i = 0; i < 100 && taskexec_sessions() != "0"; ++i)
            std::this_thread::sleep_for(20ms);
        REQUIRE(taskexec_sessions() == "0");
        PgClient c(conninfo());
        REQUIRE_NOTHROW(c.exec("SET lock_timeout = '1s'; UPDATE acct SET bal = bal WHERE id = 1"));
    }
};

Cluster& cluster() {
    static Cluster c;  // stopped at exit, after the lease library's exit hook
    return c;
}

json quiesce(const json& payload) {
    return taskexec::executor("sales", "quiesce_db", "postgres", payload);
}
json unquiesce(const json& lease_id, const std::string& snapshot_dir = "") {
    return taskexec::executor("sales", "unquiesce_db", "postgres",
                              {{"lease_id", lease_id}, {"snapshot_dir", snapshot_dir}});
}

}  // namespace

TEST_CASE("postgres: writers commit during the hold; copy + backup_label + WAL restores",
          "[postgres]") {
    Cluster& c = cluster();
    TempDir snap("pg-snap");
    const fs::path copy = snap.path() / "copy";
    Writer writer(pg_transfer(c.conninfo()));
    REQUIRE(writer.wait_for_commits(20, 10s));

    const json q = quiesce(c.payload());
    const auto held_at = clock_type::now();
    REQUIRE(q.at("start_lsn").is_string());
    CHECK(q.at("exclude") == json({"postmaster.pid", "postmaster.opts"}));
    const json s = taskexec::executor("sales", "snapshot_files", "postgres",
                                      with(q, {{"snapshot_dir", copy.string()}}));
    CHECK(s.at("total_bytes").get<std::int64_t>() > 0);
    // pg_backup_start does not block writers: they keep committing.
    REQUIRE(writer.wait_for_commits(writer.committed() + 20, 10s));
    CHECK(writer.committed_since(held_at) >= 20);

    const std::int64_t committed_before_stop = writer.committed();
    const json u = unquiesce(q.at("lease_id"), copy.string());
    CHECK(u.at("released_by") == "explicit");
    CHECK(u.at("backup_label_written") == true);
    CHECK(fs::exists(copy / "backup_label"));
    CHECK_FALSE(fs::exists(copy / "postmaster.pid"));
    CHECK_FALSE(fs::exists(c.server.data_dir() / "backup_label"));  // never in the live dir
    writer.stop();

    // The WAL from start to stop: for a test cluster, pg_wal copied after the stop.
    fs::remove_all(copy / "pg_wal");
    fs::copy(c.server.data_dir() / "pg_wal", copy / "pg_wal", fs::copy_options::recursive);
    snap.give_to("postgres");
    {
        // Starts only if replay reaches the backup's end: "WAL ends before
        // end of online backup" would fail it.
        auto restored = PostgresServer::adopt(copy);
        PgClient r(restored->admin_conninfo("shop"));
        CHECK(r.value("SELECT pg_is_in_recovery()") == "f");
        CHECK(std::stoll(r.value("SELECT sum(bal) FROM acct")) == workload_total);
        const auto events = std::stoll(r.value("SELECT count(*) FROM events"));
        const auto max_seq = std::stoll(r.value("SELECT coalesce(max(seq), 0) FROM events"));
        CHECK(events == max_seq);  // dense 1..N: no torn transaction
        CHECK(max_seq >= committed_before_stop);
        CHECK_FALSE(fs::exists(copy / "backup_label"));  // consumed by recovery
        // PostgreSQL says so itself: replay passed the backup's end LSN.
        const std::string log = tail_of(restored->log_file(), 1 << 16);
        CHECK(log.find("completed backup recovery") != std::string::npos);
        CHECK(log.find("consistent recovery state reached") != std::string::npos);
    }
    c.require_writable();
}

TEST_CASE("postgres: with block_writes an update times out during the hold, succeeds after",
          "[postgres]") {
    Cluster& c = cluster();
    const json q =
        quiesce(c.payload({{"block_writes", true}, {"tables", {"acct", "public.events"}}}));
    CHECK(q.at("locked_tables") == 2);
    PgClient w(c.conninfo());
    CHECK_NOTHROW(w.value("SELECT sum(bal) FROM acct"));  // SHARE lets readers through
    std::string state;
    try {
        w.exec("SET lock_timeout = '300ms'; UPDATE acct SET bal = bal WHERE id = 1");
    } catch (const SqlError& e) {
        state = e.sqlstate();
    }
    CHECK(state == "55P03");  // lock_not_available
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "explicit");
    CHECK_NOTHROW(w.exec("SET lock_timeout = '1s'; UPDATE acct SET bal = bal WHERE id = 1"));
    c.require_writable();
}

TEST_CASE("postgres: the watchdog releases by itself at max_hold_ms", "[postgres]") {
    Cluster& c = cluster();
    const auto start = clock_type::now();
    const json q =
        quiesce(c.payload({{"block_writes", true}, {"tables", {"acct"}}, {"max_hold_ms", 600}}));
    CHECK(q.at("idle_session_timeout_ms") == 2600);  // the server-side backstop: hold + 2 s
    PgClient w(c.conninfo());
    Pending update(
        [&] { w.exec("SET lock_timeout = '10s'; UPDATE acct SET bal = bal WHERE id = 2"); });
    CHECK_FALSE(update.done_within(300ms));
    REQUIRE(update.done_within(5s));
    CHECK(clock_type::now() - start >= 550ms);  // not before max_hold_ms
    CHECK_NOTHROW(update.get());
    const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::hold_expired);
    c.require_writable();
}

TEST_CASE("postgres: a failing snapshot step still unquiesces", "[postgres]") {
    Cluster& c = cluster();
    check_failed_copy_is_released(
        "postgres", c.payload({{"block_writes", true}, {"tables", {"acct"}}}), c.password);
    c.require_writable();
}

TEST_CASE("postgres: a failed quiesce releases what it took and is compensated harmlessly",
          "[postgres]") {
    Cluster& c = cluster();
    SECTION("a table that does not exist") {
        const taskexec::RunReport r = taskexec::run_workflow(
            "sales", "postgres", c.payload({{"block_writes", true}, {"tables", {"acct", "nope"}}}));
        CHECK(r.steps[0].status == taskexec::step_status::failed);
        const std::string message = r.steps[0].error.at("message");
        CHECK(message.find("config [SQLSTATE 42P01]") != std::string::npos);
        CHECK(message.find("nope") == std::string::npos);  // payload values stay out
        REQUIRE(r.compensations.size() == 1);
        CHECK(r.compensations[0].status == taskexec::step_status::ok);
        CHECK(r.compensations[0].result.at("released_by") == "none");
    }
    SECTION("pg_backup_start fails after the table lock was taken") {
        // 2000 bytes: over pg_backup_start's 1024-byte label limit.
        const std::string label(2000, 'x');
        const auto err = db_error_of([&] {
            quiesce(c.payload({{"block_writes", true}, {"tables", {"acct"}}, {"label", label}}));
        });
        REQUIRE(err);
        CHECK(err->where().step == "backup_start");
        CHECK(err->kind() == db_error_kind::config);
        CHECK_FALSE(err->may_be_frozen());
        CHECK(std::string(err->what()).find(label) == std::string::npos);
    }
    c.require_writable();
}

TEST_CASE("postgres: unquiesce twice is safe; unknown and missing lease ids", "[postgres]") {
    Cluster& c = cluster();
    const json q = quiesce(c.payload());
    const json first = unquiesce(q.at("lease_id"));
    CHECK(first.at("released_by") == "explicit");
    CHECK(first.at("stop_lsn").is_string());
    const json second = unquiesce(q.at("lease_id"));
    CHECK(second.at("released_by") == "already_released");
    CHECK_FALSE(second.contains("stop_lsn"));  // nothing was sent to the server again
    const auto unknown = db_error_of([&] { unquiesce("0123456789abcdef0123456789abcdef"); });
    REQUIRE(unknown);
    CHECK(unknown->kind() == db_error_kind::not_quiesced);
    CHECK(unquiesce("").at("released_by") == "none");
    c.require_writable();
}

TEST_CASE("postgres: acquisition is bounded by acquire_timeout_ms and by the step deadline",
          "[postgres]") {
    Cluster& c = cluster();
    PgClient blocker(c.conninfo());
    blocker.exec("BEGIN; LOCK TABLE acct IN ACCESS EXCLUSIVE MODE");
    SECTION("acquire_timeout_ms") {
        const auto start = clock_type::now();
        const auto err = db_error_of([&] {
            quiesce(c.payload(
                {{"block_writes", true}, {"tables", {"acct"}}, {"acquire_timeout_ms", 800}}));
        });
        const auto took = clock_type::now() - start;
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::acquire_timeout);
        CHECK(err->native_code() == "SQLSTATE 55P03");
        CHECK(took >= 700ms);
        CHECK(took < 3s);
    }
    SECTION("a workflow step deadline bounds the wait") {
        taskexec::RunOptions options;
        options.step_timeout = 700ms;
        const auto start = clock_type::now();
        const taskexec::RunReport r = taskexec::run_workflow(
            "sales", "postgres",
            c.payload(
                {{"block_writes", true}, {"tables", {"acct"}}, {"acquire_timeout_ms", 60000}}),
            options);
        CHECK(clock_type::now() - start < 5s);  // not the 60 s acquire_timeout_ms
        // The engine bounds its lock_timeout by the deadline, so it usually
        // gives up just before the run's timer fires (failed), else the
        // timer's cancel ends it (timed_out).
        if (r.steps[0].status == taskexec::step_status::failed)
            CHECK(r.steps[0].error.dump().find("acquire_timeout") != std::string::npos);
        else
            CHECK(r.steps[0].status == taskexec::step_status::timed_out);
    }
    SECTION("a stop request cancels the wait at once") {
        std::stop_source stop;
        taskexec::RunOptions options;
        options.stop = stop.get_token();
        std::thread stopper([&] {
            std::this_thread::sleep_for(500ms);
            stop.request_stop();
        });
        const auto start = clock_type::now();
        const taskexec::RunReport r = taskexec::run_workflow(
            "sales", "postgres",
            c.payload(
                {{"block_writes", true}, {"tables", {"acct"}}, {"acquire_timeout_ms", 60000}}),
            options);
        stopper.join();
        // The run waits for the engine to return, so a prompt end proves the
        // engine's PQcancel interrupted the lock wait (60 s otherwise).
        CHECK(clock_type::now() - start < 3s);
        CHECK(r.steps[0].status == taskexec::step_status::cancelled);
    }
    blocker.exec("ROLLBACK");
    c.require_writable();
}

TEST_CASE("postgres: a killed holder session is reported as session lost", "[postgres]") {
    Cluster& c = cluster();
    const json q = quiesce(c.payload({{"block_writes", true}, {"tables", {"acct"}}}));
    PgClient w(c.conninfo());
    Pending update(
        [&] { w.exec("SET lock_timeout = '10s'; UPDATE acct SET bal = bal WHERE id = 3"); });
    CHECK_FALSE(update.done_within(300ms));
    c.server.exec("SELECT pg_terminate_backend(" + std::to_string(q.at("backend_pid").get<int>()) +
                  ")");
    CHECK(update.done_within(3s));
    CHECK_NOTHROW(update.get());
    const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::session_lost);
    c.require_writable();
}

TEST_CASE("postgres: the password never shows in results, errors, events, logs or argv",
          "[postgres]") {
    Cluster& c = cluster();
    TempDir snap("pg-secret");
    WatchedRun run = run_sales_watched(
        "postgres", c.payload({{"snapshot_dir", (snap.path() / "copy").string()}}), c.password);
    CHECK(run.report.ok);
    CHECK_FALSE(run.password_in_a_process_during_hold);
    std::string& seen = run.seen;

    Sentinel wrong("TASKEXEC_IT_PG_WRONG");
    const std::string thrown = everything_thrown([&] {
        quiesce(c.payload({{"password_env", wrong.variable()}}));
    });
    CHECK(thrown.find("permission") != std::string::npos);
    seen += thrown;
    seen += check_unset_password_env([&](const json& extra) { quiesce(c.payload(extra)); });

    check_password_hidden(seen, c.password, wrong, c.server.log_file());
    c.require_writable();
}

TEST_CASE("postgres: injection attempts, NUL bytes and overlong values are refused or harmless",
          "[postgres]") {
    Cluster& c = cluster();
    const std::string injection = "x'; DROP TABLE acct; --";
    auto kind_of = [&](const json& extra) -> std::optional<db_error_kind> {
        const auto err = db_error_of([&] { quiesce(c.payload(extra)); });
        if (!err) return std::nullopt;
        return err->kind();
    };

    // A label is bound as a parameter of pg_backup_start: it arrives as text.
    {
        TempDir snap("pg-inject");
        const json q = quiesce(c.payload({{"label", injection}}));
        CHECK(unquiesce(q.at("lease_id"), snap.path().string()).at("released_by") == "explicit");
        CHECK(tail_of(snap.path() / "backup_label", 1 << 16).find("LABEL: " + injection) !=
              std::string::npos);
    }
    // Table names are quoted identifiers: the injection is a table that does not exist.
    for (const std::string& table : {injection, std::string("acct\"; DROP TABLE acct; --"),
                                     std::string("public.acct; DROP TABLE acct")})
        CHECK(kind_of({{"block_writes", true}, {"tables", {table}}}) == db_error_kind::config);
    // Connection values are separate libpq parameters, never a conninfo string.
    CHECK(kind_of({{"dbname", "shop user=postgres"}}) == db_error_kind::connect);
    CHECK(kind_of({{"user", injection}}) == db_error_kind::permission);
    // NUL bytes would cut the value short inside libpq: refused before connecting.
    for (const char* field : {"label", "dbname", "user", "host", "password_env"})
        CHECK(kind_of({{field, std::string("shop\0x", 6)}}) == db_error_kind::config);
    CHECK(kind_of({{"block_writes", true}, {"tables", {std::string("acct\0x", 6)}}}) ==
          db_error_kind::config);
    // Overlong: ours above 4096 bytes, the server's own limit (1024) below it.
    CHECK(kind_of({{"label", std::string(5000, 'l')}}) == db_error_kind::config);
    CHECK(kind_of({{"label", std::string(2000, 'l')}}) == db_error_kind::config);
    CHECK(kind_of({{"block_writes", true}, {"tables", {std::string(300, 't')}}}) ==
          db_error_kind::config);
    // unquiesce: a bad snapshot_dir still ends the backup.
    {
        const json q = quiesce(c.payload());
        const auto err =
            db_error_of([&] { unquiesce(q.at("lease_id"), std::string("/tmp\0x", 6)); });
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::config);
        CHECK(unquiesce(q.at("lease_id")).at("released_by") == "already_released");
    }

    CHECK(std::stoll(c.server.query_value("SELECT sum(bal) FROM acct", "shop")) == workload_total);
    c.require_writable();
}
