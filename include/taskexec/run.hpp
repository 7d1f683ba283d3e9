// taskexec/run.hpp — running a whole workflow: ordered steps, compensation,
// deadlines, cancellation and progress events.
//
//     taskexec::RunOptions options;
//     options.step_timeout = std::chrono::seconds(30);
//     options.stop = stop_source.get_token();            // e.g. set from SIGINT
//     options.on_event = [](const taskexec::json& e) { std::clog << e.dump() << '\n'; };
//
//     taskexec::RunReport report = taskexec::run_workflow("sales", "sqlite", payload, options);
//     if (!report.ok) std::cerr << report.to_json().dump(2) << '\n';
//
// Steps run in the workflow's order on the calling thread. Each step gets the
// run payload merged with the object results of the steps before it. When a
// step fails, times out or is cancelled, the steps before it that declare
// `using compensation = T;` are undone in reverse order (and so is the step
// itself if its engine ran). See docs/workflow-runs.md.
//
// Cancellation is cooperative: a deadline or a stop request signals the
// step's Context::stop_token(); the run then waits for the engine to return.
// An engine that never looks at its token runs to completion — and is still
// reported timed_out / cancelled, its result discarded and compensated.
//
// Thread safety: any number of runs may proceed concurrently, also with
// executor() calls and registrations. A run without timeouts starts no
// thread and takes no lock; with timeouts, all runs share one timer thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <taskexec/context.hpp>
#include <taskexec/detail/dispatch_errors.hpp>
#include <taskexec/detail/index.hpp>
#include <taskexec/detail/registry.hpp>
#include <taskexec/detail/run_plan.hpp>
#include <taskexec/detail/run_stop.hpp>
#include <taskexec/detail/run_text.hpp>
#include <taskexec/detail/shown_name.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v2 {

/// How a workflow run is bounded, stopped and observed. All optional.
struct RunOptions {
    /// Bound on each step (and each compensation); 0: none. Negative values
    /// are rejected with std::invalid_argument.
    std::chrono::milliseconds step_timeout{0};
    /// Bound on the whole run's steps, from its start; 0: none. Does not
    /// apply to compensations, which must run even when time is up.
    std::chrono::milliseconds run_timeout{0};
    /// External cancellation; signalling it cancels the running step.
    /// Compensations still run, with their own token.
    std::stop_token stop;
    /// Called synchronously on the run's thread with each progress event;
    /// an exception it throws is swallowed.
    std::function<void(const json& event)> on_event;
};

/// What became of one step or compensation of a run.
enum class step_status {
    ok,           ///< ran and returned a result (compensations: succeeded)
    failed,       ///< the engine threw, or its payload or result did not convert
    timed_out,    ///< its deadline passed (before it started, or while it ran)
    cancelled,    ///< a stop was requested (before it started, or while it ran)
    skipped,      ///< not run: an earlier step ended the run
    compensated,  ///< succeeded, then undone by its compensation
};

/// The enumerator's name, e.g. "timed_out"; used as `status` in JSON.
constexpr std::string_view to_string(step_status status) noexcept {
    switch (status) {
        case step_status::ok: return "ok";
        case step_status::failed: return "failed";
        case step_status::timed_out: return "timed_out";
        case step_status::cancelled: return "cancelled";
        case step_status::skipped: return "skipped";
        case step_status::compensated: return "compensated";
    }
    return "unknown";
}

/// One step (or compensation) of a run.
struct StepReport {
    std::string task;    ///< the step's task; for a compensation, the compensation task
    std::string undoes;  ///< compensations only: the step it undoes
    step_status status = step_status::skipped;
    json result;  ///< ok and compensated steps: the engine's result
    json error;   ///< failed/timed_out/cancelled: error::to_json()
    double elapsed_ms = 0;

    /// `{"task","status","result"|"error","elapsed_ms"(,"undoes")}`; `result`
    /// for ok/compensated, `error` for failed/timed_out/cancelled, neither
    /// for skipped.
    json to_json() const {
        json out = {{"task", task}, {"status", to_string(status)}};
        switch (status) {
            case step_status::ok:
            case step_status::compensated: out["result"] = result; break;
            case step_status::failed:
            case step_status::timed_out:
            case step_status::cancelled: out["error"] = error; break;
            case step_status::skipped: break;
        }
        out["elapsed_ms"] = elapsed_ms;
        if (!undoes.empty()) out["undoes"] = undoes;
        return out;
    }
};

/// The outcome of run_workflow().
struct RunReport {
    bool ok = false;  ///< every step succeeded
    std::string workflow, engine;
    std::vector<StepReport> steps;          ///< workflow order, one per task
    std::vector<StepReport> compensations;  ///< in the order they ran

    /// `{"ok","workflow","engine","steps":[…],"compensations":[…]}`.
    json to_json() const {
        // The engine may be any string a "*" fallback accepted: shown escaped.
        json out = {{"ok", ok}, {"workflow", workflow}, {"engine", detail::shown_name(engine)}};
        json& s = out["steps"] = json::array();
        for (const StepReport& step : steps) s.push_back(step.to_json());
        json& c = out["compensations"] = json::array();
        for (const StepReport& step : compensations) c.push_back(step.to_json());
        return out;
    }
};

namespace detail {

/// One call of run_workflow(), after planning. Kept on the caller's stack.
class WorkflowRun {
public:
    using clock = std::chrono::steady_clock;

    WorkflowRun(const RunPlan& plan, std::string_view engine, const json& payload,
                const RunOptions& options)
        : plan_(plan),
          workflow_(plan.workflow->name),
          engine_(engine),
          payload_(payload),
          options_(options),
          end_(plan.steps.size()) {}

    RunReport run() {
        const std::size_t n = plan_.steps.size();
        report_.workflow = std::string(workflow_);
        report_.engine = std::string(engine_);
        report_.steps.resize(n);
        for (std::size_t i = 0; i < n; ++i)
            report_.steps[i].task = std::string(plan_.steps[i].task->name());
        // The clock is read only when something needs the run's start.
        const bool timed = options_.run_timeout > std::chrono::milliseconds::zero() ||
                           static_cast<bool>(options_.on_event);
        const steady_time start = timed ? clock::now() : steady_time();
        {
            RunStop stop(options_.stop, options_.step_timeout, options_.run_timeout, start);
            emit([&] { return event("run_started"); });
            for (std::size_t i = 0; i < n && end_ == n; ++i) run_step(i, stop);
        }
        if (end_ < n) compensate();
        report_.ok = end_ == n;
        emit([&] {
            json e = event("run_finished");
            e["status"] =
                report_.ok ? std::string_view("ok") : to_string(report_.steps[end_].status);
            e["ok"] = report_.ok;
            e["elapsed_ms"] = elapsed_ms(start, clock::now());
            return e;
        });
        return std::move(report_);
    }

private:
    static step_status status_of(stop_cause c) noexcept {
        return c == stop_cause::timed_out ? step_status::timed_out : step_status::cancelled;
    }

    json event(std::string_view kind) const {
        return {{"event", kind}, {"workflow", workflow_}, {"engine", detail::shown_name(engine_)}};
    }

    // Events cost nothing without a listener; a listener's exception (or a
    // failure to build the event) never disturbs the run.
    template <class Build>
    void emit(Build&& build) const noexcept {
        if (!options_.on_event) return;
        try {
            options_.on_event(build());
        } catch (...) {}
    }

    void emit_end(std::string_view ok_kind, std::string_view failed_kind,
                  const StepReport& s) const {
        emit([&] {
            const bool ok = s.status == step_status::ok || s.status == step_status::compensated;
            json e = event(ok ? ok_kind : failed_kind);
            e["task"] = s.task;
            if (!s.undoes.empty()) e["undoes"] = s.undoes;
            e["status"] = to_string(s.status);
            e["elapsed_ms"] = s.elapsed_ms;
            if (!ok) e["error"] = s.error;
            return e;
        });
    }

    StopSite stop_site(std::string_view task, stop_cause cause, const RunStop& stop) const {
        StopSite site{workflow_, task, engine_, cause};
        site.step_bound = stop.step_bound();
        site.limit = site.step_bound ? options_.step_timeout : options_.run_timeout;
        return site;
    }

    void run_step(std::size_t i, RunStop& stop) {
        const StepPlan& plan = plan_.steps[i];
        StepReport& step = report_.steps[i];
        const std::string_view task = plan.task->name();
        if (const stop_cause c = stop.before_step(); c != stop_cause::none) {
            // Stopped between steps: this one never runs, so it has nothing
            // to undo; the steps before it are compensated.
            step.status = status_of(c);
            step.error = stopped_error(stop_site(task, c, stop));
            end_ = i;
            emit_end("step_finished", "step_failed", step);
            return;
        }
        emit([&] {
            json e = event("step_started");
            e["task"] = task;
            return e;
        });
        const steady_time start = clock::now();
        Context ctx =
            context_access::make(workflow_, task, engine_, stop.token(), stop.begin_step(start));
        json result;
        errc code = errc::task_failed;
        bool threw = false;
        try {
            result = call_engine(plan.engine->invoke, *input_, ctx);
        } catch (...) {
            step.error = failure_json(workflow_, task, engine_, &code);
            threw = true;
        }
        const steady_time end = clock::now();
        step.elapsed_ms = elapsed_ms(start, end);
        if (const stop_cause c = stop.end_step(end); c != stop_cause::none) {
            // Stopped while running: timed_out/cancelled even with a result,
            // and the engine ran, so its compensation runs too.
            StopSite site = stop_site(task, c, stop);
            site.started = true;
            site.elapsed_ms = step.elapsed_ms;
            step.status = status_of(c);
            step.error = stopped_error(site);
            end_ = i;
            end_attempted_ = true;
        } else if (threw) {
            step.status = step_status::failed;
            end_ = i;
            // invalid_payload is thrown before the engine is constructed:
            // nothing was attempted, so there is nothing of its own to undo.
            end_attempted_ = code != errc::invalid_payload;
        } else {
            step.status = step_status::ok;
            if (result.is_object()) {
                // Copy the payload only once a result needs merging into it.
                if (input_ != &merged_) {
                    merged_ = payload_;
                    input_ = &merged_;
                }
                merged_.update(result);
            }
            step.result = std::move(result);
        }
        emit_end("step_finished", "step_failed", step);
    }

    // Undoes, in reverse order, every attempted step that declares a
    // compensation. A compensation task runs at most once per run: not if it
    // was attempted as a step, and not twice for two steps that share it.
    void compensate() {
        const std::size_t attempted = end_ + (end_attempted_ ? 1 : 0);
        for (std::size_t i = attempted; i-- > 0;) {
            const StepPlan& plan = plan_.steps[i];
            if (plan.compensation == nullptr) continue;
            bool ran_as_step = false;
            for (std::size_t j = 0; j < attempted; ++j)
                ran_as_step = ran_as_step || plan_.steps[j].task == plan.compensation;
            if (ran_as_step) continue;
            const StepReport* earlier = nullptr;
            for (const StepReport& c : report_.compensations)
                if (c.task == plan.compensation->name()) earlier = &c;
            if (earlier == nullptr) {
                run_compensation(i);
            } else if (earlier->status == step_status::ok &&
                       report_.steps[i].status == step_status::ok) {
                report_.steps[i].status = step_status::compensated;
            }
        }
    }

    void run_compensation(std::size_t i) {
        const StepPlan& plan = plan_.steps[i];
        StepReport rep;
        rep.task = std::string(plan.compensation->name());
        rep.undoes = std::string(plan.task->name());
        emit([&] {
            json e = event("compensation_started");
            e["task"] = rep.task;
            e["undoes"] = rep.undoes;
            return e;
        });
        // A fresh token: the run's may be signalled already, and an undo
        // must still get its chance. Only step_timeout bounds it.
        const steady_time start = clock::now();
        RunStop stop({}, options_.step_timeout, std::chrono::milliseconds::zero(), start);
        Context ctx = context_access::make(workflow_, rep.task, engine_, stop.token(),
                                           stop.begin_step(start));
        bool threw = false;
        errc code = errc::task_failed;
        try {
            rep.result = call_engine(plan.compensation_engine->invoke, *input_, ctx);
        } catch (...) {
            rep.error = failure_json(workflow_, rep.task, engine_, &code);
            threw = true;
        }
        const steady_time end = clock::now();
        rep.elapsed_ms = elapsed_ms(start, end);
        if (const stop_cause c = stop.end_step(end); c != stop_cause::none) {
            StopSite site = stop_site(rep.task, c, stop);
            site.started = true;
            site.elapsed_ms = rep.elapsed_ms;
            rep.status = status_of(c);
            rep.error = stopped_error(site);
            rep.result = json();
        } else if (threw) {
            rep.status = step_status::failed;
        } else {
            rep.status = step_status::ok;
            if (report_.steps[i].status == step_status::ok)
                report_.steps[i].status = step_status::compensated;
        }
        report_.compensations.push_back(std::move(rep));
        emit_end("compensation_finished", "compensation_failed", report_.compensations.back());
    }

    const RunPlan& plan_;
    std::string_view workflow_, engine_;
    const json& payload_;
    const RunOptions& options_;
    RunReport report_;
    json merged_;                    // payload + object results, once needed
    const json* input_ = &payload_;  // what the next step (or an undo) gets
    std::size_t end_;                // the step that ended the run, or n
    bool end_attempted_ = false;     // ... and whether its engine ran
};

}  // namespace detail

/// Runs every task of `workflow` in order with engine type `engine` (or each
/// task's "*" fallback), undoing completed steps if one fails. See the file
/// comment and docs/workflow-runs.md.
///
/// Throws — before any step runs — taskexec::error unknown_workflow,
/// unknown_engine or registration_conflict if a step or a compensation
/// cannot be resolved, invalid_payload if `payload` is not an object, and
/// std::invalid_argument for a negative timeout. Everything that happens
/// once steps run is in the returned report, not thrown.
inline RunReport run_workflow(std::string_view workflow, std::string_view engine,
                              const json& payload, const RunOptions& options = {}) {
    if (options.step_timeout < std::chrono::milliseconds::zero() ||
        options.run_timeout < std::chrono::milliseconds::zero())
        throw std::invalid_argument(
            "taskexec::run_workflow: step_timeout and run_timeout "
            "must not be negative (0 means none)");
    const detail::Index& ix = detail::Registry::instance().index();
    const detail::RunPlan plan = detail::plan_run(ix, workflow, engine);
    if (!payload.is_object()) detail::throw_run_payload_not_object(plan.workflow->name, engine);
    return detail::WorkflowRun(plan, engine, payload, options).run();
}

}  // namespace v2
}  // namespace taskexec
