// tests/integration/support/run_checks.hpp — the checks the server engine
// tests (postgres, mariadb, redis) make alike, with Catch2 assertions: a
// `sales` run whose copy step fails still ends in a real release, and a
// password shows nowhere (a run, a refused quiesce, the server's log, any
// process).
//
//     check_failed_copy_is_released("postgres", c.payload(), c.password);
//
//     WatchedRun run = run_sales_watched("postgres", payload, c.password);
//     CHECK(run.report.ok);
//     CHECK_FALSE(run.password_in_a_process_during_hold);
//     run.seen += check_unset_password_env([&](const json& extra) { quiesce(c.payload(extra)); });
//     check_password_hidden(run.seen, c.password, wrong, c.server.log_file());
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include <taskexec/run.hpp>
#include <taskexec/taskexec.hpp>

#include "engine_checks.hpp"
#include "process.hpp"
#include "servers.hpp"
#include "taskexec_catch.hpp"

namespace taskexec_it {

/// Runs `sales` on `engine` with a snapshot_dir nobody can create (/proc
/// refuses new directories, even to root), so that the copy step fails, and
/// checks that the quiesce step was compensated by a real release and that
/// neither the report nor any event shows `password`.
inline void check_failed_copy_is_released(std::string_view engine, taskexec::json payload,
                                          const Sentinel& password) {
    INFO("engine: " << engine);
    std::string events;
    taskexec::RunOptions options;
    options.on_event = [&](const taskexec::json& e) { events += e.dump() + "\n"; };
    payload["snapshot_dir"] = "/proc/taskexec-unwritable/snap";
    const taskexec::RunReport r = taskexec::run_workflow("sales", engine, payload, options);
    CHECK_FALSE(r.ok);
    REQUIRE(r.steps.size() == 3);
    CHECK(r.steps[0].status == taskexec::step_status::compensated);
    CHECK(r.steps[1].status == taskexec::step_status::failed);
    REQUIRE(r.compensations.size() == 1);
    CHECK(r.compensations[0].status == taskexec::step_status::ok);
    CHECK(r.compensations[0].result.at("released_by") == "explicit");
    CHECK_FALSE(password.appears_in(r.to_json().dump() + events));
}

/// A `sales` run kept for "the password never shows" checks.
struct WatchedRun {
    taskexec::RunReport report;
    std::string seen;  ///< every event, then the report, as JSON text
    /// Whether some process's argv or environment (the test's own
    /// environment excepted) held the password when the copy step started:
    /// while the database was held by the engine's session. Also true if the
    /// copy step never started, so a run that never reached the hold fails
    /// the check rather than passing it unseen.
    bool password_in_a_process_during_hold = true;
};

/// Runs `sales` on `engine` with `payload`, collecting what WatchedRun holds.
inline WatchedRun run_sales_watched(std::string_view engine, const taskexec::json& payload,
                                    const Sentinel& password) {
    WatchedRun run;
    taskexec::RunOptions options;
    options.on_event = [&](const taskexec::json& e) {
        run.seen += e.dump() + "\n";
        if (e.value("event", "") == "step_started" && e.value("task", "") == "snapshot_files")
            run.password_in_a_process_during_hold = any_process_mentions(password.value());
    };
    run.report = taskexec::run_workflow("sales", engine, payload, options);
    run.seen += run.report.to_json().dump();
    return run;
}

/// Quiesces (through `quiesce_with`, given the payload fields to add) with
/// password_env naming a variable that is not set, and checks the refusal:
/// a config error that does not name the variable (a payload value).
/// Returns what was thrown, as text, for the case's `seen`.
template <class QuiesceWith>
std::string check_unset_password_env(QuiesceWith&& quiesce_with) {
    const std::string variable = "TASKEXEC_IT_UNSET_PASSWORD_VARIABLE";
    ::unsetenv(variable.c_str());
    const std::string thrown = everything_thrown([&] {
        quiesce_with(taskexec::json{{"password_env", variable}});
    });
    CHECK(thrown.find("config") != std::string::npos);
    CHECK(thrown.find(variable) == std::string::npos);
    return thrown;
}

/// The end of every "the password never shows" case: neither the password
/// nor a `wrong` one tried in the case is in what the case collected
/// (`seen`), and the password is not in the server's log or in any
/// process's argv or environment.
inline void check_password_hidden(const std::string& seen, const Sentinel& password,
                                  const Sentinel& wrong, const std::filesystem::path& server_log) {
    CHECK_FALSE(password.appears_in(seen));
    CHECK_FALSE(wrong.appears_in(seen));
    CHECK_FALSE(password.appears_in(tail_of(server_log, 1 << 20)));
    CHECK_FALSE(any_process_mentions(password.value()));
}

}  // namespace taskexec_it
