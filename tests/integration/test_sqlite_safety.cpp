// tests/integration/test_sqlite_safety.cpp — the common safety properties
// of EXAMPLES.md for the sqlite engine: the watchdog, compensation of a
// failed copy and of a failed quiesce, idempotent unquiesce, bounded and
// cancellable acquisition, payload validation (injection attempts, NUL
// bytes, overlong values), and no leaked secrets.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>

#include "db_error.hpp"
#include "payload_text.hpp"
#include "taskexec_catch.hpp"
#include "workload.hpp"

namespace {

using taskexec::json;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using taskexec_examples::db_error_kind;

json quiesce(const taskexec_it::SqliteDb& db, json extra = json::object()) {
    return taskexec::executor("sales", "quiesce_db", "sqlite",
                              taskexec_it::merged({{"path", db.path()}}, extra));
}

json unquiesce(const json& lease_id) {
    return taskexec::executor("sales", "unquiesce_db", "sqlite", {{"lease_id", lease_id}});
}

/// The db_error kind inside what `fn` threw (a task_failed error).
template <class Fn>
std::optional<db_error_kind> kind_thrown(Fn&& fn) {
    try {
        fn();
    } catch (const taskexec::error& e) {
        CHECK(e.code() == taskexec::errc::task_failed);
        if (auto db = taskexec_examples::find_db_error(e)) return db->kind();
    }
    return std::nullopt;
}

double ms_since(clock_type::time_point t) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

bool wait_until_lock_free(const std::string& path, std::chrono::milliseconds timeout) {
    const auto until = clock_type::now() + timeout;
    while (clock_type::now() < until) {
        if (taskexec_it::write_lock_free(path)) return true;
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

}  // namespace

TEST_CASE("sqlite: the watchdog releases by itself; a later unquiesce reports hold_expired",
          "[sqlite][integration]") {
    taskexec_it::SqliteDb db("wal");
    const auto start = clock_type::now();
    const json q = quiesce(db, {{"max_hold_ms", 150}});
    CHECK_FALSE(taskexec_it::write_lock_free(db.path()));
    REQUIRE(wait_until_lock_free(db.path(), 3000ms));
    const double freed_after = ms_since(start);
    INFO("lock free " << freed_after << " ms after quiesce began");
    CHECK(freed_after >= 150.0);
    CHECK(freed_after < 1500.0);  // watchdog: deadline + 50 ms, plus a loaded machine
    CHECK(kind_thrown([&] { unquiesce(q["lease_id"]); }) == db_error_kind::hold_expired);
    // Asking again gives the same answer: the snapshot stays invalid.
    CHECK(kind_thrown([&] { unquiesce(q["lease_id"]); }) == db_error_kind::hold_expired);
}

TEST_CASE("sqlite: a run whose copy outlives max_hold fails: the snapshot does not count",
          "[sqlite][integration]") {
    taskexec_it::SqliteDb db("delete", 3000);
    const taskexec::RunReport report = taskexec::run_workflow("sales", "sqlite",
                                                              {{"path", db.path()},
                                                               {"snapshot_dir", db.snapshot_dir()},
                                                               {"max_hold_ms", 100},
                                                               {"max_bytes_per_s", 128 << 10}});
    INFO(report.to_json().dump());
    CHECK_FALSE(report.ok);
    CHECK(report.steps[1].status == taskexec::step_status::ok);
    REQUIRE(report.steps[2].status == taskexec::step_status::failed);
    CHECK(report.steps[2].error["message"].get<std::string>().find("hold_expired") !=
          std::string::npos);
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: a failing snapshot step still unquiesces", "[sqlite][integration]") {
    taskexec_it::SqliteDb db("wal");
    // A snapshot_dir below a regular file cannot be created, even by root.
    const auto blocker = db.dir() / "not-a-directory";
    std::ofstream(blocker) << "x";
    const taskexec::RunReport report = taskexec::run_workflow(
        "sales", "sqlite", {{"path", db.path()}, {"snapshot_dir", (blocker / "snap").string()}});
    INFO(report.to_json().dump());
    CHECK_FALSE(report.ok);
    CHECK(report.steps[0].status == taskexec::step_status::compensated);
    CHECK(report.steps[1].status == taskexec::step_status::failed);
    CHECK(report.steps[2].status == taskexec::step_status::skipped);
    REQUIRE(report.compensations.size() == 1);
    CHECK(report.compensations[0].task == "unquiesce_db");
    CHECK(report.compensations[0].status == taskexec::step_status::ok);
    CHECK(report.compensations[0].result["released_by"] == "explicit");
    CHECK(taskexec_it::write_lock_free(db.path()));  // at once, not at the watchdog
}

TEST_CASE("sqlite: a failed quiesce is compensated harmlessly", "[sqlite][integration]") {
    taskexec_it::SqliteDb db("wal");
    const taskexec::RunReport report = taskexec::run_workflow(
        "sales", "sqlite",
        {{"path", (db.dir() / "missing.db").string()}, {"snapshot_dir", db.snapshot_dir()}});
    INFO(report.to_json().dump());
    CHECK_FALSE(report.ok);
    CHECK(report.steps[0].status == taskexec::step_status::failed);
    REQUIRE(report.compensations.size() == 1);
    CHECK(report.compensations[0].status == taskexec::step_status::ok);
    CHECK(report.compensations[0].result["released_by"] == "none");
    CHECK_FALSE(std::filesystem::exists(db.dir() / "missing.db"));  // never created
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: unquiesce is idempotent and knows its leases", "[sqlite][integration]") {
    taskexec_it::SqliteDb db("delete");
    const json q = quiesce(db);
    const json first = unquiesce(q["lease_id"]);
    CHECK(first["released_by"] == "explicit");
    // The database is free, and someone else now holds it: a second release
    // must not touch the database at all.
    auto other = std::make_unique<taskexec_it::LockHolder>(db.path());
    const json second = unquiesce(q["lease_id"]);
    CHECK(second["released_by"] == "already_released");
    CHECK(second["held_ms"] == first["held_ms"]);
    CHECK_FALSE(taskexec_it::write_lock_free(db.path()));  // still the other holder's

    CHECK(unquiesce("")["released_by"] == "none");  // no lease id: a no-op
    CHECK(kind_thrown([&] { unquiesce(std::string(32, 'a')); }) == db_error_kind::not_quiesced);
    other.reset();
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: acquisition is bounded by acquire_timeout_ms", "[sqlite][integration]") {
    const std::string mode = GENERATE(as<std::string>{}, "delete", "wal");
    INFO("journal_mode " << mode);
    taskexec_it::SqliteDb db(mode);
    {
        taskexec_it::LockHolder other(db.path());
        const auto start = clock_type::now();
        CHECK(kind_thrown([&] {
                  quiesce(db, {{"acquire_timeout_ms", 300}});
              }) == db_error_kind::acquire_timeout);
        const double took = ms_since(start);
        INFO("gave up after " << took << " ms");
        CHECK(took >= 300.0);
        CHECK(took < 2000.0);
    }
    // Nothing was left behind: the next quiesce gets the lock at once.
    const json q = quiesce(db, {{"acquire_timeout_ms", 1000}});
    CHECK(kind_thrown([&] { quiesce(db); }) == db_error_kind::already_quiesced);
    CHECK(unquiesce(q["lease_id"])["released_by"] == "explicit");
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: a cancelled run stops waiting for the lock", "[sqlite][integration]") {
    taskexec_it::SqliteDb db("wal");
    auto other = std::make_unique<taskexec_it::LockHolder>(db.path());
    std::stop_source stop;
    std::jthread canceller([&] {
        std::this_thread::sleep_for(200ms);
        stop.request_stop();
    });
    taskexec::RunOptions options;
    options.stop = stop.get_token();
    const auto start = clock_type::now();
    const taskexec::RunReport report = taskexec::run_workflow(
        "sales", "sqlite",
        {{"path", db.path()}, {"snapshot_dir", db.snapshot_dir()}, {"acquire_timeout_ms", 20000}},
        options);
    CHECK(report.steps[0].status == taskexec::step_status::cancelled);
    CHECK(ms_since(start) < 5000.0);  // far below the 20 s acquire timeout
    other.reset();  // the test's own writer lets go: nothing of the run holds on
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: payload fields are validated", "[sqlite][integration]") {
    taskexec_it::SqliteDb db("wal");
    for (const json& bad :
         {json{{"max_hold_ms", 0}}, json{{"max_hold_ms", 600001}}, json{{"mode", "deferred"}},
          json{{"checkpoint", "full"}}, json{{"acquire_timeout_ms", -1}}})
        CHECK(kind_thrown([&] { quiesce(db, bad); }) == db_error_kind::config);
    CHECK(kind_thrown([&] {
              taskexec::executor("sales", "quiesce_db", "sqlite", json::object());
          }) == db_error_kind::config);
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: a sentinel secret never appears in results, errors or events",
          "[sqlite][integration]") {
    const std::string sentinel = "s3ntinel-Pa55word-4f9d";
    ::setenv("TASKEXEC_IT_SQLITE_SECRET", sentinel.c_str(), 1);
    taskexec_it::SqliteDb db("wal");
    std::string seen;  // every event, result and error of the runs below
    taskexec::RunOptions options;
    options.on_event = [&](const json& e) { seen += e.dump(); };
    const json secrets = {{"password_env", "TASKEXEC_IT_SQLITE_SECRET"},
                          {"label", sentinel},
                          {"password", sentinel},
                          {"user", sentinel}};

    auto ok = taskexec::run_workflow(
        "sales", "sqlite",
        taskexec_it::merged(secrets, {{"path", db.path()}, {"snapshot_dir", db.snapshot_dir()}}),
        options);
    CHECK(ok.ok);
    seen += ok.to_json().dump();
    // A failing run whose path holds the sentinel: errors must not echo it.
    auto failed = taskexec::run_workflow(
        "sales", "sqlite",
        taskexec_it::merged(secrets, {{"path", (db.dir() / sentinel / "x.db").string()},
                                      {"snapshot_dir", db.snapshot_dir()}}),
        options);
    CHECK_FALSE(failed.ok);
    seen += failed.to_json().dump();
    seen += taskexec_it::error_of([&] {
        taskexec::executor("sales", "quiesce_db", "sqlite", {{"max_hold_ms", sentinel}});
    });
    seen += taskexec_it::error_of([&] {
        quiesce(db, taskexec_it::merged(secrets, {{"mode", sentinel}}));
    });
    // The errors were captured (so the search below covers them).
    CHECK(seen.find("invalid payload for task 'quiesce_db'") != std::string::npos);
    CHECK(seen.find("payload field 'mode'") != std::string::npos);
    CHECK(seen.find(sentinel) == std::string::npos);
    ::unsetenv("TASKEXEC_IT_SQLITE_SECRET");
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("sqlite: injection attempts, NUL bytes and overlong values are refused or harmless",
          "[sqlite][integration]") {
    taskexec_it::SqliteDb db("wal");
    const std::string injection = "x'; DROP TABLE acct; --";
    const std::string with_nul = db.path() + std::string("\0.other", 7);

    // Text fields that are SQL keywords in the engine: only the listed words.
    for (const char* field : {"mode", "checkpoint"})
        CHECK(kind_thrown([&] { quiesce(db, {{field, injection}}); }) == db_error_kind::config);
    // A path is a file name, never SQL: no such file.
    CHECK(kind_thrown([&] {
              quiesce(db, {{"path", (db.dir() / injection).string()}});
          }) == db_error_kind::connect);
    // A NUL byte would make the C API open the path before it: refused, even
    // though that prefix is the real database.
    CHECK(kind_thrown([&] { quiesce(db, {{"path", with_nul}}); }) == db_error_kind::config);
    CHECK(kind_thrown([&] {
              quiesce(db, {{"label", std::string(taskexec_examples::max_text_bytes + 1, 'l')}});
          }) == db_error_kind::config);
    CHECK(kind_thrown([&] {
              quiesce(db, {{"path", db.dir().string() + "/" + std::string(5000, 'p')}});
          }) == db_error_kind::config);

    // A database whose file name is the injection is just a database.
    const auto odd = db.dir() / injection;
    std::filesystem::copy_file(db.path(), odd);
    const json q = quiesce(db, {{"path", odd.string()}, {"label", injection}});
    CHECK_FALSE(taskexec_it::write_lock_free(odd.string()));
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "explicit");

    // snapshot_files refuses the same bytes in its paths, before copying.
    for (const json& bad : {json{{"snapshot_dir", with_nul}},
                            json{{"files_to_copy", {std::string("sales.db\0x", 10)}}},
                            json{{"exclude", {std::string(5000, 'e')}}}}) {
        CHECK(kind_thrown([&] {
                  taskexec::executor("sales", "snapshot_files", "sqlite",
                                     taskexec_it::merged({{"source_dir", db.dir().string()},
                                                          {"files_to_copy", {"sales.db"}},
                                                          {"snapshot_dir", db.snapshot_dir()}},
                                                         bad));
              }) == db_error_kind::config);
    }
    CHECK_FALSE(std::filesystem::exists(db.snapshot_dir()));

    // Nothing was dropped, nothing is held, the data is whole.
    const auto contents = taskexec_examples::workload::inspect(db.path());
    CHECK(contents.integrity == "ok");
    CHECK(contents.total == taskexec_examples::workload::expected_total(db.setup()));
    CHECK(taskexec_it::write_lock_free(db.path()));
    CHECK(taskexec_it::write_lock_free(odd.string()));
}
