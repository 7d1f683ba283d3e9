// tests/integration/test_mariadb.cpp — the mariadb and mysql engines against
// a throwaway MariaDB server (EXAMPLES.md, "Proving it"), and the server
// behaviours the engines rely on (docs/engines.md).
//
// One server serves the whole file; every test ends with require_writable():
// no taskexec holder is left connected and an insert commits at once.
#include <chrono>
#include <optional>
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

using namespace std::chrono_literals;
using taskexec::json;
using taskexec_examples::db_error_kind;
using namespace taskexec_it;
using clock_type = std::chrono::steady_clock;

struct Server {
    MariaDbServer server;
    Sentinel password{"TASKEXEC_IT_MY_PASSWORD"};

    Server() {
        server.create_login("tester", password.value());
        // RELOAD is what BACKUP STAGE and FLUSH TABLES WITH READ LOCK need.
        server.exec("GRANT RELOAD ON *.* TO 'tester'@'localhost'");
        server.create_login("norights", password.value());
        create_my_workload(server, "shop");
        server.exec("CREATE TABLE shop.probe (id int AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB");
        server.exec("CREATE TABLE shop.slow (v int) ENGINE=MyISAM");
    }

    json payload(const json& extra = json::object()) const {
        return with({{"socket", server.socket()},
                     {"user", "tester"},
                     {"password_env", password.variable()},
                     {"acquire_timeout_ms", 5000}},
                    extra);
    }
    MyClient root() const { return MyClient(server.socket(), "root", "", "shop"); }
    std::string holders() const {
        return server.query_value(
            "SELECT COUNT(*) FROM information_schema.processlist WHERE user IN ('tester', "
            "'norights')");
    }
    std::string state_of(unsigned long id) const {
        return server.query_value("SELECT state FROM information_schema.processlist WHERE id = " +
                                  std::to_string(id));
    }

    /// No database left frozen: no engine session is left, and an insert
    /// commits without waiting.
    void require_writable() const {
        for (int i = 0; i < 100 && holders() != "0"; ++i) std::this_thread::sleep_for(20ms);
        REQUIRE(holders() == "0");
        MyClient c = root();
        c.exec("SET SESSION max_statement_time = 2");
        REQUIRE_NOTHROW(c.exec("INSERT INTO probe () VALUES ()"));
    }
};

Server& mariadb() {
    static Server s;  // stopped at exit, after the lease library's exit hook
    return s;
}

json quiesce(const std::string& engine, const json& payload) {
    return taskexec::executor("sales", "quiesce_db", engine, payload);
}
json unquiesce(const std::string& engine, const json& lease_id) {
    return taskexec::executor("sales", "unquiesce_db", engine, {{"lease_id", lease_id}});
}

/// engine, method, release statement: the three ways to hold a MariaDB server.
struct Way {
    const char* engine;
    const char* method;
    const char* release;
};
constexpr Way ways[] = {{"mariadb", "backup_stage", "BACKUP STAGE END"},
                        {"mariadb", "ftwrl", "UNLOCK TABLES"},
                        {"mysql", "ftwrl", "UNLOCK TABLES"}};

}  // namespace

TEST_CASE("mariadb: a concurrent insert waits during the hold and completes after", "[mariadb]") {
    Server& s = mariadb();
    // One writer for all three: its sequence numbers must stay unique.
    Writer writer(my_transfer(s.server.socket(), "shop"));
    for (const Way& way : ways) {
        INFO(way.engine << " / " << way.method);
        REQUIRE(writer.wait_for_commits(writer.committed() + 10, 10s));
        const json q = quiesce(way.engine, s.payload({{"method", way.method}}));
        CHECK(q.at("method") == way.method);
        const auto frozen_at = clock_type::now();
        MyClient w = s.root();
        const unsigned long id = w.id();
        Pending insert([&] { w.exec("INSERT INTO probe () VALUES ()"); });
        CHECK_FALSE(insert.done_within(700ms));
        // MariaDB 10.11 implements both methods with its backup MDL lock.
        CHECK(s.state_of(id) == "Waiting for backup lock");
        // A writer's commit can be in flight when the lock lands; none after.
        CHECK(writer.committed_since(frozen_at + 100ms) == 0);

        const json u = unquiesce(way.engine, q.at("lease_id"));
        CHECK(u.at("released_by") == "explicit");
        CHECK(u.at("release_statement") == way.release);
        CHECK(insert.done_within(2s));
        CHECK_NOTHROW(insert.get());
        CHECK(writer.wait_for_commits(writer.committed() + 5, 2s));
    }
    s.require_writable();
}

TEST_CASE("mariadb: killing the holder frees the writer; unquiesce reports session lost",
          "[mariadb]") {
    Server& s = mariadb();
    for (const Way& way : ways) {
        INFO(way.engine << " / " << way.method);
        const json q = quiesce(way.engine, s.payload({{"method", way.method}}));
        MyClient w = s.root();
        Pending insert([&] { w.exec("INSERT INTO probe () VALUES ()"); });
        CHECK_FALSE(insert.done_within(500ms));
        const auto killed_at = clock_type::now();
        s.server.exec("KILL " + std::to_string(q.at("connection_id").get<unsigned long>()));
        REQUIRE(insert.done_within(2s));
        CHECK(clock_type::now() - killed_at < 1s);  // "at once"
        CHECK_NOTHROW(insert.get());
        const auto err = db_error_of([&] { unquiesce(way.engine, q.at("lease_id")); });
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::session_lost);
    }
    s.require_writable();
}

TEST_CASE("mariadb: the watchdog releases by itself at max_hold_ms", "[mariadb]") {
    Server& s = mariadb();
    const auto start = clock_type::now();
    const json q = quiesce("mariadb", s.payload({{"max_hold_ms", 600}}));
    // The server-side backstop as the server reports it: 0.6 s + 2 s, rounded up.
    CHECK(q.at("wait_timeout_s") == 3);
    MyClient w = s.root();
    Pending insert([&] { w.exec("INSERT INTO probe () VALUES ()"); });
    CHECK_FALSE(insert.done_within(300ms));
    REQUIRE(insert.done_within(3s));
    CHECK(clock_type::now() - start >= 550ms);
    CHECK_NOTHROW(insert.get());
    const auto err = db_error_of([&] { unquiesce("mariadb", q.at("lease_id")); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::hold_expired);
    s.require_writable();
}

TEST_CASE("mariadb server: wait_timeout ends an idle holder (the engines' backstop)",
          "[mariadb][server]") {
    // EXAMPLES.md had this from documentation only; here it is observed.
    Server& s = mariadb();
    for (const char* lock :
         {"BACKUP STAGE START;BACKUP STAGE BLOCK_COMMIT", "FLUSH TABLES WITH READ LOCK"}) {
        INFO(lock);
        MyClient holder = s.root();
        holder.exec("SET SESSION wait_timeout = 1");
        const std::string statements = lock;
        for (std::size_t from = 0, to; from < statements.size(); from = to + 1) {
            to = statements.find(';', from);
            if (to == std::string::npos) to = statements.size();
            holder.exec(statements.substr(from, to - from));
        }
        const auto locked_at = clock_type::now();
        MyClient w = s.root();
        Pending insert([&] { w.exec("INSERT INTO probe () VALUES ()"); });
        CHECK_FALSE(insert.done_within(500ms));
        REQUIRE(insert.done_within(5s));
        CHECK(clock_type::now() - locked_at >= 900ms);
        CHECK_NOTHROW(insert.get());
        CHECK_THROWS_AS(holder.exec("SELECT 1"), SqlError);  // the server closed it
    }
    s.require_writable();
}

TEST_CASE("mariadb: a failing snapshot step still unquiesces", "[mariadb]") {
    Server& s = mariadb();
    check_failed_copy_is_released("mariadb", s.payload(), s.password);
    s.require_writable();
}

TEST_CASE("mariadb: a failed quiesce releases what it took and is compensated harmlessly",
          "[mariadb]") {
    Server& s = mariadb();
    SECTION("no RELOAD privilege") {
        const taskexec::RunReport r =
            taskexec::run_workflow("sales", "mariadb", s.payload({{"user", "norights"}}));
        CHECK(r.steps[0].status == taskexec::step_status::failed);
        const std::string message = r.steps[0].error.at("message");
        CHECK(message.find("permission [errno 1227") != std::string::npos);
        CHECK(message.find("norights") == std::string::npos);  // payload values stay out
        REQUIRE(r.compensations.size() == 1);
        CHECK(r.compensations[0].result.at("released_by") == "none");
    }
    SECTION("BLOCK_COMMIT times out after BACKUP STAGE START was taken") {
        // BLOCK_COMMIT flushes non-transactional tables, so it waits for a
        // running MyISAM write; START does not.
        MyClient slow = s.root();
        Pending writing([&] { slow.exec("INSERT INTO slow SELECT SLEEP(3)"); });
        std::this_thread::sleep_for(200ms);
        const auto err = db_error_of([&] {
            quiesce("mariadb", s.payload({{"acquire_timeout_ms", 1000}}));
        });
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::acquire_timeout);
        CHECK(err->where().step == "backup_stage_block_commit");
        CHECK_FALSE(err->may_be_frozen());
        // Nothing is left behind: another backup can start at once.
        MyClient other = s.root();
        other.exec("SET SESSION max_statement_time = 1");
        CHECK_NOTHROW(other.exec("BACKUP STAGE START"));
        other.exec("BACKUP STAGE END");
        REQUIRE(writing.done_within(5s));
    }
    s.require_writable();
}

TEST_CASE("mariadb: unquiesce twice is safe; second quiesce is already_quiesced", "[mariadb]") {
    Server& s = mariadb();
    const json q = quiesce("mariadb", s.payload());
    const auto again = db_error_of([&] { quiesce("mariadb", s.payload()); });
    REQUIRE(again);
    CHECK(again->kind() == db_error_kind::already_quiesced);
    const json first = unquiesce("mariadb", q.at("lease_id"));
    CHECK(first.at("released_by") == "explicit");
    const json second = unquiesce("mariadb", q.at("lease_id"));
    CHECK(second.at("released_by") == "already_released");
    CHECK_FALSE(second.contains("release_statement"));  // nothing sent the second time
    // A lease of one engine type is unknown to the other.
    const auto other = db_error_of([&] { unquiesce("mysql", q.at("lease_id")); });
    REQUIRE(other);
    CHECK(other->kind() == db_error_kind::not_quiesced);
    const auto config = db_error_of([&] {
        quiesce("mysql", s.payload({{"method", "backup_stage"}}));
    });
    REQUIRE(config);
    CHECK(config->kind() == db_error_kind::config);
    s.require_writable();
}

TEST_CASE("mariadb: acquisition is bounded by acquire_timeout_ms", "[mariadb]") {
    Server& s = mariadb();
    MyClient blocker = s.root();
    blocker.exec("LOCK TABLES acct WRITE");  // both methods wait for it
    for (const Way& way : ways) {
        INFO(way.engine << " / " << way.method);
        const auto start = clock_type::now();
        const auto err = db_error_of([&] {
            quiesce(way.engine, s.payload({{"method", way.method}, {"acquire_timeout_ms", 1200}}));
        });
        const auto took = clock_type::now() - start;
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::acquire_timeout);
        CHECK(err->native_code().find("errno 1969") == 0);  // max_statement_time: the exact bound
        CHECK(took >= 1100ms);
        CHECK(took < 3s);
    }
    blocker.exec("UNLOCK TABLES");
    s.require_writable();
}

TEST_CASE("mariadb: the password never shows in results, errors, events, logs or argv",
          "[mariadb]") {
    Server& s = mariadb();
    TempDir snap("my-secret");
    WatchedRun run = run_sales_watched(
        "mariadb", s.payload({{"snapshot_dir", (snap.path() / "copy").string()}}), s.password);
    CHECK(run.report.ok);
    CHECK(run.report.steps.at(1).result.at("files").size() > 0);
    CHECK_FALSE(run.password_in_a_process_during_hold);
    std::string& seen = run.seen;

    Sentinel wrong("TASKEXEC_IT_MY_WRONG");
    const std::string thrown = everything_thrown([&] {
        quiesce("mariadb", s.payload({{"password_env", wrong.variable()}}));
    });
    CHECK(thrown.find("permission [errno 1045") != std::string::npos);
    seen += thrown;
    seen +=
        check_unset_password_env([&](const json& extra) { quiesce("mariadb", s.payload(extra)); });
    check_password_hidden(seen, s.password, wrong, s.server.log_file());
    s.require_writable();
}

TEST_CASE("mariadb: injection attempts, NUL bytes and overlong values are refused or harmless",
          "[mariadb]") {
    Server& s = mariadb();
    const std::string injection = "x'; DROP TABLE shop.acct; --";
    auto kind_of = [&](const json& extra) -> std::optional<db_error_kind> {
        const auto err = db_error_of([&] { quiesce("mariadb", s.payload(extra)); });
        if (!err) return std::nullopt;
        return err->kind();
    };

    // No payload value is ever part of a statement: a label is only a label,
    // the method one of two words, connection values separate API arguments.
    const json q = quiesce("mariadb", s.payload({{"label", injection}}));
    CHECK(unquiesce("mariadb", q.at("lease_id")).at("released_by") == "explicit");
    CHECK(kind_of({{"method", injection}}) == db_error_kind::config);
    CHECK(kind_of({{"user", injection}}) == db_error_kind::permission);
    CHECK(kind_of({{"user", std::string(300, 'u')}}) == db_error_kind::permission);
    // NUL bytes would cut the value short inside libmariadb: refused first.
    for (const char* field : {"user", "socket", "host", "label", "password_env"})
        CHECK(kind_of({{field, std::string("tester\0x", 8)}}) == db_error_kind::config);
    CHECK(kind_of({{"socket", std::string(5000, 's')}}) == db_error_kind::config);

    CHECK(std::stoll(s.server.query_value("SELECT SUM(bal) FROM shop.acct")) == workload_total);
    s.require_writable();
}
