// examples/cli/output.cpp — exit codes, error lines, payload input, progress.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli.hpp"
#include "db_error.hpp"

namespace taskexec_cli {

int exit_code_for(taskexec::errc code) noexcept {
    switch (code) {
        case taskexec::errc::unknown_workflow:
        case taskexec::errc::task_not_in_workflow:
        case taskexec::errc::unknown_engine: return exit_unknown;
        case taskexec::errc::invalid_payload: return exit_invalid_payload;
        case taskexec::errc::task_failed:
        case taskexec::errc::timed_out:
        case taskexec::errc::cancelled: return exit_failed;
        case taskexec::errc::registration_conflict:
        case taskexec::errc::plugin_load_failed: return exit_conflict;
    }
    return exit_failed;
}

int exit_code_for(std::string_view name) noexcept {
    if (name == "unknown_workflow" || name == "task_not_in_workflow" || name == "unknown_engine")
        return exit_unknown;
    if (name == "invalid_payload") return exit_invalid_payload;
    if (name == "registration_conflict" || name == "plugin_load_failed") return exit_conflict;
    return exit_failed;
}

namespace {

/// One line, whatever the message holds.
std::string flatten(std::string text) {
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
    return text;
}

}  // namespace

int report_error(const Output& out, std::string_view code, const std::string& message, int exit,
                 json context) {
    if (out.json) {
        context["code"] = code;
        context["message"] = message;
        // Names in a message can be any bytes a user typed: never let
        // invalid UTF-8 turn an error report into an exception.
        std::cerr << context.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
    } else {
        std::cerr << "taskexec: " << code << ": " << flatten(message) << std::endl;
    }
    return exit;
}

int report_error(const Output& out, const taskexec::error& error) {
    json context = error.to_json();
    if (auto db = taskexec_examples::find_db_error(error)) context["db_error"] = db->to_json();
    const std::string code = context["code"].get<std::string>();
    const std::string message = context["message"].get<std::string>();
    context.erase("code");
    context.erase("message");
    return report_error(out, code, message, exit_code_for(error.code()), std::move(context));
}

json read_payload(const std::optional<std::string>& spec) {
    if (!spec) return json::object();
    std::string text;
    const char* source = "--payload";
    if (*spec == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
        source = "the payload read from stdin";
    } else if (!spec->empty() && spec->front() == '@') {
        std::ifstream file(spec->substr(1), std::ios::binary);
        // The file NAME is ours to show; its contents never are.
        if (!file)
            throw PayloadError{"usage", "cannot read the payload file '" + spec->substr(1) + "'",
                               exit_usage};
        std::ostringstream buffer;
        buffer << file.rdbuf();
        text = buffer.str();
        source = "the payload file";
    } else {
        text = *spec;
    }
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        // nlohmann's message quotes the text it read: report the offset only.
        throw PayloadError{"invalid_payload",
                           std::string(source) + " is not valid JSON (syntax error near byte " +
                               std::to_string(e.byte) + ")",
                           exit_invalid_payload};
    } catch (const json::exception&) {
        // E.g. 1e999: a number JSON allows but a double cannot hold. Again
        // without nlohmann's text, which quotes the number.
        throw PayloadError{"invalid_payload",
                           std::string(source) + " is not usable JSON (a number is out of range)",
                           exit_invalid_payload};
    }
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
    auto distance = [](std::string_view a, std::string_view b) {
        std::vector<std::size_t> row(b.size() + 1);
        for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
        for (std::size_t i = 1; i <= a.size(); ++i) {
            std::size_t diagonal = row[0];
            row[0] = i;
            for (std::size_t j = 1; j <= b.size(); ++j) {
                const std::size_t up = row[j];
                row[j] = std::min(
                    {row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
                diagonal = up;
            }
        }
        return row[b.size()];
    };
    const std::string* best = nullptr;
    std::size_t best_distance = 3;  // suggest within edit distance 2
    for (const std::string& c : candidates) {
        const std::size_t d = distance(name, c);
        if (d < best_distance) {
            best = &c;
            best_distance = d;
        }
    }
    return best == nullptr ? std::string() : "; did you mean '" + *best + "'?";
}

bool stderr_is_terminal() noexcept { return ::isatty(STDERR_FILENO) == 1; }

std::function<void(const json&)> progress_printer(bool enabled) {
    if (!enabled) return {};
    const auto start = std::chrono::steady_clock::now();
    return [start](const json& e) {
        const double at =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        std::string line = e.value("event", std::string("event"));
        if (e.contains("task")) line += " " + e["task"].get<std::string>();
        if (e.contains("undoes")) line += " (undoes " + e["undoes"].get<std::string>() + ")";
        if (e.contains("status")) line += ": " + e["status"].get<std::string>();
        if (e.contains("elapsed_ms"))
            line += " in " + std::to_string(static_cast<long long>(e["elapsed_ms"].get<double>())) +
                    " ms";
        if (e.contains("error") && e["error"].is_object())
            line += " — " + e["error"].value("message", std::string());
        if (line.rfind("run_", 0) == 0)
            line += " [" + e.value("workflow", std::string()) + " on " +
                    e.value("engine", std::string()) + "]";
        std::fprintf(stderr, "taskexec: %8.1f ms  %s\n", at, line.c_str());
    };
}

}  // namespace taskexec_cli
