// examples/cli/cli.hpp — the pieces of the `taskexec` program (main.cpp
// parses the command line and calls one of the commands below).
//
// Conventions every command keeps (SPEC "The taskexec program"):
// results go to stdout as JSON; an error is ONE line on stderr (with
// --json, one JSON object); payload values never appear in either.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <taskexec/taskexec.hpp>

namespace taskexec_cli {

using taskexec::json;

/// The program's exit codes.
enum exit_code : int {
    exit_ok = 0,
    exit_usage = 2,
    exit_unknown = 3,  ///< unknown workflow/task/engine, task_not_in_workflow
    exit_invalid_payload = 4,
    exit_failed = 5,    ///< task failed, timed out, cancelled; a run with ok=false
    exit_conflict = 6,  ///< registration conflict, plugin failure
};

/// How errors are printed.
struct Output {
    bool json = false;  ///< --json: errors as JSON objects, list/demo as JSON
};

/// The exit code for a taskexec error code.
int exit_code_for(taskexec::errc code) noexcept;
/// The exit code for an errc name as found in error JSON ("task_failed").
int exit_code_for(std::string_view code_name) noexcept;

/// Prints `error` (plus the db_error it carries, if any) to stderr as one
/// line or one JSON object. Returns its exit code.
int report_error(const Output& out, const taskexec::error& error);
/// Prints an error of the program itself ("usage", "unknown_task", ...).
int report_error(const Output& out, std::string_view code, const std::string& message, int exit,
                 json context = json::object());

/// Prints the one-line summary of a run report with ok=false (the step that
/// ended it, with its error, and the compensations that ran; `signal` if a
/// signal cancelled it). Returns the exit code of that step's error code.
int report_run_failure(const Output& out, const taskexec::RunReport& report, int signal);

/// A payload that could not be read or parsed; message has no values.
struct PayloadError {
    std::string code;  ///< "invalid_payload" or "usage"
    std::string message;
    int exit;
};

/// --payload: JSON text, @FILE or "-" (stdin); absent: {}. Throws PayloadError.
json read_payload(const std::optional<std::string>& spec);

/// Edit-distance suggestion " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

/// Progress printer for RunOptions::on_event, writing to stderr; empty
/// (no printing) when `enabled` is false.
std::function<void(const json&)> progress_printer(bool enabled);

/// Whether progress goes to stderr by default (it is a terminal).
bool stderr_is_terminal() noexcept;

// ---- commands -------------------------------------------------------------

/// The whole program (examples/main.cpp): parses argv, runs one command and
/// returns its exit code. main() only calls this.
int run_program(int argc, char** argv);

int cmd_list(const Output& out);
int cmd_describe(const Output& out, const std::optional<std::string>& task);
int cmd_run(const Output& out, const std::string& workflow, const std::string& task,
            const std::string& engine, const std::optional<std::string>& payload);

struct RunFlags {
    std::optional<std::string> payload;
    std::chrono::milliseconds step_timeout{0};
    std::chrono::milliseconds run_timeout{0};
    bool progress = false;  ///< force progress output (default: when stderr is a terminal)
};
int cmd_run_workflow(const Output& out, const std::string& workflow, const std::string& engine,
                     const RunFlags& flags);

struct DemoFlags {
    std::optional<std::string> dir;  ///< where sales.db goes (default: a new temp dir)
    std::string journal_mode = "wal";
    std::int64_t copy_rate = 4 << 20;  ///< snapshot throttle, bytes/s (0: unthrottled)
    bool progress = false;
};
int cmd_demo(const Output& out, const DemoFlags& flags);

}  // namespace taskexec_cli
