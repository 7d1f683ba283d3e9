// examples/cli/commands.cpp — list, describe, run, run-workflow.
#include <iostream>
#include <set>
#include <string>

#include "cli.hpp"
#include "signals.hpp"

namespace taskexec_cli {
namespace {

std::string joined(const json& names, const char* separator) {
    std::string out;
    for (const json& n : names) {
        if (!out.empty()) out += separator;
        out += n.get<std::string>();
    }
    return out.empty() ? "-" : out;
}

void print(const json& value) {
    // A result may carry bytes an engine did not check; print, don't throw.
    std::cout << value.dump(2, ' ', false, json::error_handler_t::replace) << std::endl;
}

/// The step that ended a failed run (failed, timed out or cancelled).
const taskexec::StepReport* failed_step(const taskexec::RunReport& report) {
    for (const taskexec::StepReport& s : report.steps)
        if (s.status == taskexec::step_status::failed ||
            s.status == taskexec::step_status::timed_out ||
            s.status == taskexec::step_status::cancelled)
            return &s;
    return nullptr;
}

}  // namespace

int report_run_failure(const Output& out, const taskexec::RunReport& report, int signal) {
    const taskexec::StepReport* failed = failed_step(report);
    std::string compensated;
    for (const taskexec::StepReport& c : report.compensations)
        compensated += (compensated.empty() ? "" : ", ") + c.task + " " +
                       std::string(taskexec::to_string(c.status));
    json error = failed != nullptr && failed->error.is_object() ? failed->error : json::object();
    const std::string code = error.value("code", std::string("task_failed"));
    std::string message =
        "workflow '" + report.workflow + "' on '" + report.engine + "' did not complete";
    if (failed != nullptr)
        message += ": step '" + failed->task + "' " +
                   std::string(taskexec::to_string(failed->status)) + ": " +
                   error.value("message", std::string());
    message += compensated.empty() ? "; no compensation ran" : "; compensations: " + compensated;
    error.erase("code");
    error.erase("message");
    if (signal != 0) error["signal"] = signal;
    return report_error(out, code, message, exit_code_for(code), std::move(error));
}

int cmd_list(const Output& out) {
    const json d = taskexec::describe();
    if (out.json) {
        json tasks = json::array();
        for (const json& t : d["tasks"]) {
            json engines = json::array();
            for (const json& e : t["engines"]) engines.push_back(e["name"]);
            tasks.push_back({{"name", t["name"]}, {"engines", engines}});
        }
        print({{"workflows", d["workflows"]}, {"tasks", tasks}, {"conflicts", d["conflicts"]}});
        return exit_ok;
    }
    std::cout << "workflows:\n";
    for (const json& w : d["workflows"])
        std::cout << "  " << w["name"].get<std::string>() << ": " << joined(w["tasks"], " -> ")
                  << "\n    engines: " << joined(w["complete_engines"], ", ") << "\n";
    std::cout << "tasks:\n";
    for (const json& t : d["tasks"]) {
        json engines = json::array();
        for (const json& e : t["engines"]) engines.push_back(e["name"]);
        std::cout << "  " << t["name"].get<std::string>() << ": " << joined(engines, ", ") << "\n";
        const std::string description = t["description"].get<std::string>();
        if (!description.empty()) std::cout << "    " << description << "\n";
    }
    if (!d["conflicts"].empty()) {
        std::cout << "conflicts:\n";
        for (const json& c : d["conflicts"])
            std::cout << "  " << c["kind"].get<std::string>() << " " << c["name"].get<std::string>()
                      << ": " << joined(c["sites"], ", ") << "\n";
    }
    std::cout << std::flush;
    return exit_ok;
}

int cmd_describe(const Output& out, const std::optional<std::string>& task) {
    json d = taskexec::describe();
    if (!task) {
        print(d);
        return exit_ok;
    }
    std::vector<std::string> names;
    for (json& t : d["tasks"]) {
        names.push_back(t["name"].get<std::string>());
        if (names.back() != *task) continue;
        json workflows = json::array();
        for (const json& w : d["workflows"])
            for (const json& listed : w["tasks"])
                if (listed == *task) workflows.push_back(w["name"]);
        t["workflows"] = std::move(workflows);
        json conflicts = json::array();
        for (const json& c : d["conflicts"]) {
            const std::string name = c["name"].get<std::string>();
            if (name == *task || name.rfind(*task + "/", 0) == 0) conflicts.push_back(c);
        }
        t["conflicts"] = std::move(conflicts);
        print(t);
        return exit_ok;
    }
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "'" : ", '") + n + "'";
    return report_error(out, "unknown_task",
                        "unknown task '" + *task + "'; registered tasks: " +
                            (list.empty() ? "(none)" : list) + did_you_mean(*task, names),
                        exit_unknown, {{"task", *task}});
}

int cmd_run(const Output& out, const std::string& workflow, const std::string& task,
            const std::string& engine, const std::optional<std::string>& payload_spec) {
    json payload;
    try {
        payload = read_payload(payload_spec);
    } catch (const PayloadError& e) {
        return report_error(out, e.code, e.message, e.exit, {{"task", task}});
    }
    try {
        print(taskexec::executor(workflow, task, engine, payload));
        return exit_ok;
    } catch (const taskexec::error& e) {
        return report_error(out, e);
    }
}

int cmd_run_workflow(const Output& out, const std::string& workflow, const std::string& engine,
                     const RunFlags& flags) {
    json payload;
    try {
        payload = read_payload(flags.payload);
    } catch (const PayloadError& e) {
        return report_error(out, e.code, e.message, e.exit, {{"workflow", workflow}});
    }
    CancelOnSignal cancel;  // from here SIGINT/SIGTERM cancel the run
    taskexec::RunOptions options;
    options.step_timeout = flags.step_timeout;
    options.run_timeout = flags.run_timeout;
    options.stop = cancel.token();
    options.on_event = progress_printer(flags.progress || stderr_is_terminal());
    taskexec::RunReport report;
    try {
        report = taskexec::run_workflow(workflow, engine, payload, options);
    } catch (const taskexec::error& e) {
        return report_error(out, e);
    }
    print(report.to_json());
    if (report.ok) return exit_ok;

    return report_run_failure(out, report, cancel.signal());
}

}  // namespace taskexec_cli
