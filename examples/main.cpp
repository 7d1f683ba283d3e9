// examples/main.cpp — the `taskexec` program: the C++ successor of the
// seed's main.py. It names no task, engine or workflow: everything it can
// run registered itself (linked in with taskexec_link_registrations, or
// loaded from --plugins DIR).
//
//     taskexec list [--json]
//     taskexec describe [TASK]
//     taskexec run WORKFLOW TASK ENGINE [--payload JSON | --payload @FILE | --payload -]
//     taskexec run-workflow WORKFLOW ENGINE [--payload ...] [--step-timeout MS] [--run-timeout MS]
//     taskexec demo [--dir DIR] [--journal wal|delete]
//     taskexec --plugins DIR <command>      load every *.so in DIR first
//     taskexec --json <command>             errors (and list/demo output) as JSON
//
// Exit codes: 0 ok, 2 usage, 3 unknown workflow/task/engine, 4 invalid
// payload, 5 task failed / timed out / cancelled (a run report with
// ok=false), 6 registration conflict or plugin failure.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <taskexec/taskexec.hpp>

#include "cli/cli.hpp"

#if __has_include(<taskexec/plugin.hpp>)
#include <taskexec/plugin.hpp>
#define TASKEXEC_CLI_HAS_PLUGINS 1
#else
#define TASKEXEC_CLI_HAS_PLUGINS 0
#endif

namespace {

using namespace taskexec_cli;

int load_plugins(const Output& out, const std::string& dir) {
#if TASKEXEC_CLI_HAS_PLUGINS
    try {
        for (const auto& report : taskexec::load_plugins(dir))
            if (stderr_is_terminal())
                std::cerr << "taskexec: plugin " << report.path.string()
                          << (report.newly_loaded ? " loaded" : " already loaded") << "\n";
        return exit_ok;
    } catch (const taskexec::error& e) {
        return report_error(out, e);
    }
#else
    return report_error(out, "plugin_load_failed", "plugins not supported in this build",
                        exit_conflict, {{"path", dir}});
#endif
}

/// CLI11's message, unless it would echo arguments we do not own: a stray
/// positional may be a payload someone forgot to put after --payload.
std::string usage_message(const CLI::ParseError& e) {
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr ||
        std::string_view(e.what()).find("not expected") != std::string_view::npos)
        return "unexpected extra arguments (not shown: they may hold payload values); "
               "see --help";
    return e.what();
}

std::optional<std::string> optional(const CLI::Option* option, const std::string& value) {
    if (option->count() == 0) return std::nullopt;
    return value;
}

}  // namespace

int taskexec_cli::run_program(int argc, char** argv) {
    CLI::App app{"taskexec — run registered tasks and workflows", "taskexec"};
    app.require_subcommand(1);
    // Global options may also follow the command (taskexec list --json).
    app.fallthrough();
    Output out;
    std::string plugins;
    app.add_flag("--json", out.json, "print errors (and list/demo output) as JSON objects");
    CLI::Option* plugins_opt =
        app.add_option("--plugins", plugins, "load every *.so plugin in DIR first")
            ->type_name("DIR");

    CLI::App* list = app.add_subcommand("list", "list workflows, tasks and their engines");

    std::string task_name;
    CLI::App* describe = app.add_subcommand("describe",
                                            "describe a task (or, without TASK, "
                                            "everything registered) as JSON");
    CLI::Option* task_opt = describe->add_option("TASK", task_name, "task name");

    std::string workflow, task, engine, payload;
    CLI::App* run = app.add_subcommand("run", "run one task of a workflow on an engine");
    run->add_option("WORKFLOW", workflow, "workflow name")->required();
    run->add_option("TASK", task, "task name")->required();
    run->add_option("ENGINE", engine, "engine type, or * for the task's fallback")->required();
    CLI::Option* run_payload =
        run->add_option("--payload", payload, "JSON text, @FILE, or - for stdin (default {})")
            ->type_name("JSON|@FILE|-");

    RunFlags flags;
    std::int64_t step_timeout_ms = 0, run_timeout_ms = 0;
    CLI::App* run_wf =
        app.add_subcommand("run-workflow",
                           "run every task of a workflow on an engine, with compensation; "
                           "SIGINT/SIGTERM cancel the run and its compensations still run");
    run_wf->add_option("WORKFLOW", workflow, "workflow name")->required();
    run_wf->add_option("ENGINE", engine, "engine type")->required();
    CLI::Option* wf_payload =
        run_wf->add_option("--payload", payload, "JSON text, @FILE, or - for stdin (default {})")
            ->type_name("JSON|@FILE|-");
    run_wf->add_option("--step-timeout", step_timeout_ms, "bound on each step, ms (0: none)")
        ->check(CLI::NonNegativeNumber);
    run_wf->add_option("--run-timeout", run_timeout_ms, "bound on the whole run, ms (0: none)")
        ->check(CLI::NonNegativeNumber);
    run_wf->add_flag("--progress", flags.progress,
                     "print progress on stderr even when it is not a terminal");

    DemoFlags demo_flags;
    std::string demo_dir;
    CLI::App* demo =
        app.add_subcommand("demo", "the sales workflow on a SQLite database, with a live writer");
    CLI::Option* dir_opt = demo->add_option("--dir", demo_dir,
                                            "directory for sales.db and the "
                                            "snapshot (default: a new temp dir)");
    demo->add_option("--journal", demo_flags.journal_mode, "journal mode of sales.db")
        ->check(CLI::IsMember({"wal", "delete"}));
    demo->add_option("--copy-rate", demo_flags.copy_rate,
                     "snapshot copy throttle in bytes/s, so the hold is visible (0: none)")
        ->check(CLI::NonNegativeNumber);
    demo->add_flag("--progress", demo_flags.progress, "print progress even when not a terminal");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) return app.exit(e);  // --help
        return report_error(out, "usage", usage_message(e), exit_usage);
    }

    if (plugins_opt->count() > 0) {
        if (const int rc = load_plugins(out, plugins); rc != exit_ok) return rc;
    }
    try {
        if (*list) return cmd_list(out);
        if (*describe) return cmd_describe(out, optional(task_opt, task_name));
        if (*run) return cmd_run(out, workflow, task, engine, optional(run_payload, payload));
        if (*run_wf) {
            flags.payload = optional(wf_payload, payload);
            flags.step_timeout = std::chrono::milliseconds(step_timeout_ms);
            flags.run_timeout = std::chrono::milliseconds(run_timeout_ms);
            return cmd_run_workflow(out, workflow, engine, flags);
        }
        if (*demo) {
            demo_flags.dir = optional(dir_opt, demo_dir);
            return cmd_demo(out, demo_flags);
        }
    } catch (const taskexec::error& e) {
        return report_error(out, e);
    } catch (const std::exception& e) {
        // Not a taskexec error: our own code failed (I/O, memory). Its text
        // comes from the standard library or SQLite codes, not payloads.
        return report_error(out, "internal_error", e.what(), exit_failed);
    }
    return report_error(out, "usage", "no command given; see --help", exit_usage);
}

// The CLI fuzzer (tests/fuzz/fuzz_cli.cpp) compiles this file with
// TASKEXEC_CLI_NO_MAIN and calls run_program() in-process.
#if !defined(TASKEXEC_CLI_NO_MAIN)
int main(int argc, char** argv) { return taskexec_cli::run_program(argc, argv); }
#endif
