// taskexec/detail/run_text.hpp — the errors and events of workflow runs.
//
// Everything a run says about itself is built here, from names and times
// only: the payload is never passed in, so no event or error can quote a
// payload value.
#pragma once

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/detail/run_stop.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// Milliseconds as a double, the unit of every `elapsed_ms`.
inline double elapsed_ms(steady_time from, steady_time to) noexcept {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

/// "12.3": one decimal is plenty for a message.
inline std::string ms_text(double ms) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f", ms);
    return buffer;
}

/// Where a stop hit: which task, engine and workflow, and why.
struct StopSite {
    std::string_view workflow, task, engine;
    stop_cause cause = stop_cause::none;
    bool started = false;                ///< false: the step never ran
    bool step_bound = false;             ///< the step_timeout (not run_timeout) ran out
    std::chrono::milliseconds limit{0};  ///< the timeout that ran out
    double elapsed_ms = 0;               ///< how long the step had run
};

/// The timed_out / cancelled error of a stopped step, as JSON.
TASKEXEC_INTERNAL_COLD inline json stopped_error(const StopSite& s) {
    const bool timed_out = s.cause == stop_cause::timed_out;
    std::string message = "task " + quote_name(s.task);
    if (!s.started)
        message += " was not started on engine " + quote_name(s.engine) + " in workflow " +
                   quote_name(s.workflow) + ": ";
    else
        message += std::string(timed_out ? " timed out" : " was cancelled") + " on engine " +
                   quote_name(s.engine) + " in workflow " + quote_name(s.workflow) + " after " +
                   ms_text(s.elapsed_ms) + " ms: ";
    if (timed_out)
        message += std::string(s.started ? "its" : "the run's") + " deadline (" +
                   (s.step_bound ? "step_timeout " : "run_timeout ") +
                   std::to_string(s.limit.count()) + " ms) passed";
    else
        message += "a stop was requested";
    return error(timed_out ? errc::timed_out : errc::cancelled, message,
                 {{"workflow", s.workflow}, {"task", s.task}, {"engine", s.engine}})
        .to_json();
}

/// The error JSON of an exception call_engine() let through. It throws
/// taskexec::error only, but a run must reach its compensations even if,
/// say, copying a result ran out of memory.
TASKEXEC_INTERNAL_COLD inline json failure_json(std::string_view workflow, std::string_view task,
                                                std::string_view engine, errc* code) {
    try {
        throw;
    } catch (const error& e) {
        *code = e.code();
        return e.to_json();
    } catch (const std::exception& e) {
        *code = errc::task_failed;
        return error(errc::task_failed,
                     "task " + quote_name(task) + " failed on engine " + quote_name(engine) +
                         " in workflow " + quote_name(workflow) + ": " + e.what(),
                     {{"workflow", workflow}, {"task", task}, {"engine", engine}})
            .to_json();
    } catch (...) {
        *code = errc::task_failed;
        return error(errc::task_failed,
                     "task " + quote_name(task) + " failed on engine " + quote_name(engine) +
                         " in workflow " + quote_name(workflow) + ": an unknown exception",
                     {{"workflow", workflow}, {"task", task}, {"engine", engine}})
            .to_json();
    }
}

/// The run's payload is not an object, so results cannot be merged into it.
[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_run_payload_not_object(
    std::string_view workflow, std::string_view engine) {
    throw error(
        errc::invalid_payload,
        "invalid payload for workflow " + quote_name(workflow) + ": the payload is not an object",
        {{"workflow", workflow}, {"engine", engine}});
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
