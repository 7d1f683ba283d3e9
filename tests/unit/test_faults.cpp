// Fault injection: engines that throw std and non-std exceptions, that
// ignore their stop token past a deadline, and that re-enter executor() and
// run_workflow() — each through executor() and through run_workflow(), with
// the error codes, messages and nested exceptions they must produce, and a
// check that the registry keeps working afterwards.
//
// Already covered elsewhere, so not repeated here: test_executor.cpp has a
// std::runtime_error and a non-std type through executor() (message and
// nested exception), a taskexec::error thrown by an engine, an engine whose
// nested executor() call fails, and a Result that does not convert from
// JSON. test_run.cpp has a std::runtime_error in a step and in a
// compensation, a step that ignores its token past step_timeout (timed_out,
// compensated), cooperative engines stopped by step_timeout, run_timeout and
// an external stop, and a compensation that overruns step_timeout while
// waiting for its token.
//
// New here: nested exception chains and std::bad_alloc; `throw 42` in a run
// step, in a compensation, in a custom from_json (payload) and in a Result's
// to_json; ignoring the token in a later step, in a compensation, under
// run_timeout and under an external stop, then throwing late; re-entering
// executor() and run_workflow() from execute (also recursively, also with
// the outer stop token passed to an inner run), from on_event, and from a
// stop callback running on the deadline timer's thread.
#include "taskexec_catch.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <taskexec/taskexec.hpp>

using taskexec::errc;
using taskexec::json;
using taskexec::step_status;
using test_support::catch_error;
using test_support::contains;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace ft {

// ---- what the engines saw ---------------------------------------------------

struct Call {
    std::string task;
    bool stop_possible = false;
    bool stopped_at_start = false;
    steady::time_point deadline;
};

std::mutex log_mutex;
std::vector<Call> calls_log;
// Engines sleeping in "ignore" right now.
std::atomic<int> ignoring{0};

void record(const taskexec::Context& ctx) {
    std::lock_guard lock(log_mutex);
    calls_log.push_back({std::string(ctx.task()), ctx.stop_token().stop_possible(),
                         ctx.stop_token().stop_requested(), ctx.deadline()});
}

std::vector<Call> take_calls() {
    std::lock_guard lock(log_mutex);
    return std::exchange(calls_log, {});
}

std::vector<std::string> tasks_called() {
    std::vector<std::string> out;
    for (const Call& c : take_calls()) out.push_back(c.task);
    return out;
}

// What the last re-entrant engine saw of its inner run, and of the stop
// callback it ran on the timer thread.
std::mutex inner_mutex;
std::optional<taskexec::RunReport> last_inner_report;
json callback_result;
std::thread::id callback_thread;
std::atomic<bool> callback_ran{false};

// ---- the engines: one behaviour, steered by the payload ---------------------

/// Waits until the token is signalled (or `limit` passes); a good citizen.
bool wait_for_stop(const std::stop_token& token, std::chrono::milliseconds limit) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    return cv.wait_for(lock, token, limit, [] { return false; }) || token.stop_requested();
}

json behave(const char* key, const json& p, taskexec::Context& ctx) {
    record(ctx);
    const std::string task(ctx.task());
    const std::string fault = p.is_object() ? p.value(key, std::string()) : std::string();
    const auto sleep_ms = std::chrono::milliseconds(p.is_object() ? p.value("sleep_ms", 200) : 200);
    if (fault == "std") throw std::runtime_error("disk full in " + task);
    if (fault == "nested_std") {
        try {
            throw std::logic_error("root cause in " + task);
        } catch (...) {
            std::throw_with_nested(std::runtime_error("wrapper in " + task));
        }
    }
    if (fault == "bad_alloc") throw std::bad_alloc();
    if (fault == "int") throw 42;
    if (fault == "ignore") {
        ++ignoring;
        std::this_thread::sleep_for(sleep_ms);  // never looks at its token
        --ignoring;
        return {{"ignored", task}};
    }
    if (fault == "ignore_then_throw") {
        std::this_thread::sleep_for(sleep_ms);
        throw std::runtime_error("late failure in " + task);
    }
    if (fault == "block") {
        if (!wait_for_stop(ctx.stop_token(), 20s)) throw std::runtime_error("never stopped");
        return {{"stopped", task}};
    }
    if (fault == "reenter_executor")
        return {{"inner", taskexec::executor("ft.pipeline", "ft.after", "mem", {{"from", task}})}};
    if (fault == "reenter_failing")
        return taskexec::executor("ft.typed", "ft.typed_out", "mem", {{"code", 42}});
    if (fault == "reenter_run") {
        taskexec::RunOptions options;
        options.stop = ctx.stop_token();  // the outer deadline or stop reaches the inner run
        options.step_timeout = std::chrono::milliseconds(p.value("inner_step_timeout_ms", 0));
        const taskexec::RunReport r = taskexec::run_workflow(
            "ft.inner", "mem", p.value("inner_payload", json::object()), options);
        {
            std::lock_guard lock(inner_mutex);
            last_inner_report = r;
        }
        return {{"inner_ok", r.ok}, {"inner_steps", r.steps.size()}};
    }
    if (fault == "recurse") {
        const int depth = p.value("depth", 0);
        if (depth == 0) return {{"bottom", true}};
        json deeper = p;
        deeper["depth"] = depth - 1;
        const json below = taskexec::executor("ft.pipeline", task, "mem", deeper);
        return {{"bottom", below.at("bottom")}, {"levels", below.value("levels", 0) + 1}};
    }
    if (fault == "stop_callback_reenter") {
        // The callback runs where the stop is requested: for a deadline, on
        // the shared timer thread. It dispatches and runs a timed workflow
        // from there.
        std::stop_callback on_stop(ctx.stop_token(), [] {
            json r;
            try {
                r["executor"] =
                    taskexec::executor("ft.pipeline", "ft.after", "mem", json::object());
                taskexec::RunOptions options;
                options.step_timeout = 5s;
                r["run_ok"] = taskexec::run_workflow("ft.inner", "mem", json::object(), options).ok;
            } catch (const std::exception& e) {
                r["exception"] = e.what();
            }
            std::lock_guard lock(inner_mutex);
            callback_result = r;
            callback_thread = std::this_thread::get_id();
            callback_ran = true;
        });
        if (!wait_for_stop(ctx.stop_token(), 20s)) throw std::runtime_error("never stopped");
        return {{"stopped", task}};
    }
    return {{task, "ok"}};
}

struct UndoPrepare : taskexec::Task<"ft.undo_prepare"> {};
struct Prepare : taskexec::Task<"ft.prepare"> {
    using compensation = UndoPrepare;
};
struct UndoFault : taskexec::Task<"ft.undo_fault"> {};
struct Fault : taskexec::Task<"ft.fault"> {
    using compensation = UndoFault;
};
struct After : taskexec::Task<"ft.after"> {};

template <class T, const char* Key>
struct Mem : T, taskexec::Engine<"mem"> {
    json execute(const json& p, taskexec::Context& ctx) { return behave(Key, p, ctx); }
};
constexpr char prepare_key[] = "prepare_fault";
constexpr char undo_prepare_key[] = "undo_prepare_fault";
constexpr char fault_key[] = "fault";
constexpr char undo_fault_key[] = "undo_fault";
constexpr char after_key[] = "after_fault";
TASKEXEC_ENGINE(Mem<Prepare, prepare_key>);
TASKEXEC_ENGINE(Mem<UndoPrepare, undo_prepare_key>);
TASKEXEC_ENGINE(Mem<Fault, fault_key>);
TASKEXEC_ENGINE(Mem<UndoFault, undo_fault_key>);
TASKEXEC_ENGINE(Mem<After, after_key>);

// The workflow run from inside engines.
struct UndoInner : taskexec::Task<"ft.undo_inner"> {};
struct InnerStep : taskexec::Task<"ft.inner_step"> {
    using compensation = UndoInner;
};
struct InnerLast : taskexec::Task<"ft.inner_last"> {};
constexpr char inner_step_key[] = "inner_step_fault";
constexpr char undo_inner_key[] = "undo_inner_fault";
constexpr char inner_last_key[] = "inner_last_fault";
TASKEXEC_ENGINE(Mem<InnerStep, inner_step_key>);
TASKEXEC_ENGINE(Mem<UndoInner, undo_inner_key>);
TASKEXEC_ENGINE(Mem<InnerLast, inner_last_key>);

// Typed payload and result whose conversions throw something that is not a
// std::exception.
struct Fragile {
    bool explode = false;
};
void from_json(const json& j, Fragile& f) {
    if (j.value("explode", false)) throw 42;
    f.explode = false;
}
void to_json(json& j, const Fragile& f) { j = json{{"explode", f.explode}}; }

struct Brittle {
    int code = 0;
};
void to_json(json& j, const Brittle& b) {
    if (b.code == 42) throw 42;
    j = json{{"code", b.code}};
}
void from_json(const json& j, Brittle& b) { j.at("code").get_to(b.code); }

struct UndoOut : taskexec::Task<"ft.undo_out"> {};
struct TypedIn : taskexec::Task<"ft.typed_in", Fragile> {
    using compensation = UndoFault;
};
struct TypedOut : taskexec::Task<"ft.typed_out", json, Brittle> {
    using compensation = UndoOut;
};
struct MemTypedIn : TypedIn, taskexec::Engine<"mem"> {
    json execute(const Fragile&, taskexec::Context& ctx) {
        record(ctx);
        return {{"typed_in", "ok"}};
    }
};
struct MemTypedOut : TypedOut, taskexec::Engine<"mem"> {
    Brittle execute(const json& p, taskexec::Context& ctx) {
        record(ctx);
        return {p.is_object() ? p.value("code", 0) : 0};
    }
};
constexpr char undo_out_key[] = "undo_out_fault";
TASKEXEC_ENGINE(MemTypedIn);
TASKEXEC_ENGINE(MemTypedOut);
TASKEXEC_ENGINE(Mem<UndoOut, undo_out_key>);

struct Pipeline : taskexec::Workflow<"ft.pipeline", Prepare, Fault, After> {};
struct Inner : taskexec::Workflow<"ft.inner", InnerStep, InnerLast> {};
struct Typed : taskexec::Workflow<"ft.typed", Prepare, TypedIn, TypedOut> {};
TASKEXEC_WORKFLOW(Pipeline);
TASKEXEC_WORKFLOW(Inner);
TASKEXEC_WORKFLOW(Typed);

// ---- helpers ------------------------------------------------------------------

std::vector<step_status> statuses(const std::vector<taskexec::StepReport>& steps) {
    std::vector<step_status> out;
    for (const auto& s : steps) out.push_back(s.status);
    return out;
}

std::vector<std::string> tasks_of(const std::vector<taskexec::StepReport>& steps) {
    std::vector<std::string> out;
    for (const auto& s : steps) out.push_back(s.task);
    return out;
}

std::string message_of(const json& error) { return error.at("message").get<std::string>(); }

double ms_since(steady::time_point start) {
    return std::chrono::duration<double, std::milli>(steady::now() - start).count();
}

/// Runs `fn`, which must throw a taskexec::error, and returns the exception
/// that error nests (null if none). The error is caught by reference: the
/// nesting lives in the type std::throw_with_nested created, which a copy
/// (test_support::catch_error) slices off.
std::exception_ptr nested_in(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const taskexec::error& e) {
        if (const auto* n = dynamic_cast<const std::nested_exception*>(&e)) return n->nested_ptr();
        return nullptr;
    }
    throw std::logic_error("expected a taskexec::error, but none was thrown");
}

/// The registry still dispatches, runs and describes after a fault.
void require_registry_works() {
    CHECK(taskexec::executor("ft.pipeline", "ft.after", "mem", json::object()) ==
          json{{"ft.after", "ok"}});
    taskexec::RunOptions timed;
    timed.step_timeout = 10s;
    for (const taskexec::RunOptions& options : {taskexec::RunOptions{}, timed}) {
        const auto report = taskexec::run_workflow("ft.pipeline", "mem", json::object(), options);
        CHECK(report.ok);
        CHECK(statuses(report.steps) == std::vector<step_status>(3, step_status::ok));
    }
    const json d = taskexec::describe();
    CHECK(d.at("conflicts").empty());
    CHECK_NOTHROW(taskexec::verify());
    take_calls();
}

}  // namespace ft

using namespace ft;

TEST_CASE("faults: a std::exception keeps its whole nested chain; bad_alloc is task_failed too",
          "[faults]") {
    take_calls();
    SECTION("executor(): the engine's own nested chain is kept under task_failed") {
        const auto e = catch_error([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "nested_std"}});
        });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "wrapper in ft.fault"));
        CHECK(contains(e.what(), "'ft.fault'"));
        const std::exception_ptr inner = nested_in([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "nested_std"}});
        });
        REQUIRE(inner);
        std::string chain;
        try {
            std::rethrow_exception(inner);
        } catch (const std::runtime_error& outer) {
            chain = outer.what();
            try {
                std::rethrow_if_nested(outer);
            } catch (const std::logic_error& root) {
                chain += std::string(" <- ") + root.what();
            }
        }
        CHECK(chain == "wrapper in ft.fault <- root cause in ft.fault");
    }
    SECTION("executor(): std::bad_alloc") {
        const auto e = catch_error([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "bad_alloc"}});
        });
        CHECK(e.code() == errc::task_failed);
        CHECK(e.to_json().at("task") == "ft.fault");
        const std::exception_ptr inner = nested_in([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "bad_alloc"}});
        });
        REQUIRE(inner);
        bool nested_bad_alloc = false;
        try {
            std::rethrow_exception(inner);
        } catch (const std::bad_alloc&) {
            nested_bad_alloc = true;
        }
        CHECK(nested_bad_alloc);
    }
    SECTION("run_workflow(): bad_alloc in a step still reaches every compensation") {
        const auto report = taskexec::run_workflow("ft.pipeline", "mem", {{"fault", "bad_alloc"}});
        CHECK_FALSE(report.ok);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::failed,
                                                                 step_status::skipped});
        CHECK(report.steps[1].error.at("code") == "task_failed");
        CHECK(tasks_of(report.compensations) ==
              std::vector<std::string>{"ft.undo_fault", "ft.undo_prepare"});
    }
    SECTION("run_workflow(): nested std exceptions in a compensation; the others still run") {
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem", {{"after_fault", "std"}, {"undo_fault", "nested_std"}});
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::ok,
                                                                 step_status::failed});
        REQUIRE(report.compensations.size() == 2);
        CHECK(report.compensations[0].task == "ft.undo_fault");
        CHECK(report.compensations[0].status == step_status::failed);
        CHECK(contains(message_of(report.compensations[0].error), "wrapper in ft.undo_fault"));
        CHECK(report.compensations[1].status == step_status::ok);
        CHECK(contains(message_of(report.steps[2].error), "disk full in ft.after"));
    }
    require_registry_works();
}

TEST_CASE("faults: an engine that throws something not derived from std::exception", "[faults]") {
    take_calls();
    SECTION("executor(): task_failed says so, and the int is nested") {
        const auto e = catch_error([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "int"}});
        });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "an exception not derived from std::exception"));
        CHECK(contains(e.what(), "'ft.fault'"));
        CHECK(contains(e.what(), "'mem'"));
        CHECK(contains(e.what(), "'ft.pipeline'"));
        const json j = e.to_json();
        CHECK(j.at("code") == "task_failed");
        CHECK(j.at("workflow") == "ft.pipeline");
        CHECK(j.at("task") == "ft.fault");
        CHECK(j.at("engine") == "mem");
        const std::exception_ptr inner = nested_in([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "int"}});
        });
        REQUIRE(inner);
        int nested = 0;
        try {
            std::rethrow_exception(inner);
        } catch (int value) {
            nested = value;
        }
        CHECK(nested == 42);
    }
    SECTION("run_workflow(): the step fails; it and the step before are compensated") {
        const auto report = taskexec::run_workflow("ft.pipeline", "mem", {{"fault", "int"}});
        CHECK_FALSE(report.ok);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::failed,
                                                                 step_status::skipped});
        const json& error = report.steps[1].error;
        CHECK(error.at("code") == "task_failed");
        CHECK(error.at("task") == "ft.fault");
        CHECK(contains(message_of(error), "an exception not derived from std::exception"));
        CHECK(tasks_of(report.compensations) ==
              std::vector<std::string>{"ft.undo_fault", "ft.undo_prepare"});
        CHECK(statuses(report.compensations) ==
              std::vector<step_status>{step_status::ok, step_status::ok});
        CHECK(tasks_called() == std::vector<std::string>{"ft.prepare", "ft.fault", "ft.undo_fault",
                                                         "ft.undo_prepare"});
    }
    SECTION("run_workflow(): a compensation throws an int; the next one still runs") {
        const auto report =
            taskexec::run_workflow("ft.pipeline", "mem", {{"fault", "std"}, {"undo_fault", "int"}});
        REQUIRE(report.compensations.size() == 2);
        CHECK(report.compensations[0].status == step_status::failed);
        CHECK(report.compensations[0].error.at("code") == "task_failed");
        CHECK(contains(message_of(report.compensations[0].error),
                       "an exception not derived from std::exception"));
        CHECK(report.compensations[1].task == "ft.undo_prepare");
        CHECK(report.compensations[1].status == step_status::ok);
        CHECK(report.steps[0].status == step_status::compensated);
        CHECK(report.steps[1].status == step_status::failed);
    }
    SECTION("a custom from_json that throws an int: invalid_payload, nothing to undo") {
        const auto e = catch_error([] {
            taskexec::executor("ft.typed", "ft.typed_in", "mem", {{"explode", true}});
        });
        CHECK(e.code() == errc::invalid_payload);
        CHECK(e.to_json().at("field") == "");  // the shape cannot tell which field
        CHECK(take_calls().empty());           // the engine was never constructed

        const auto report = taskexec::run_workflow("ft.typed", "mem", {{"explode", true}});
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::failed,
                                                                 step_status::skipped});
        CHECK(report.steps[1].error.at("code") == "invalid_payload");
        // ft.typed_in was not attempted: only the step before it is undone.
        CHECK(tasks_of(report.compensations) == std::vector<std::string>{"ft.undo_prepare"});
    }
    SECTION("a Result whose to_json throws an int: task_failed, the step was attempted") {
        const auto e = catch_error([] {
            taskexec::executor("ft.typed", "ft.typed_out", "mem", {{"code", 42}});
        });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "does not convert to JSON"));
        CHECK(contains(e.what(), "an exception not derived from std::exception"));
        const std::exception_ptr inner = nested_in([] {
            taskexec::executor("ft.typed", "ft.typed_out", "mem", {{"code", 42}});
        });
        REQUIRE(inner);
        int nested = 0;
        try {
            std::rethrow_exception(inner);
        } catch (int value) {
            nested = value;
        }
        CHECK(nested == 42);

        const auto report = taskexec::run_workflow("ft.typed", "mem", {{"code", 42}});
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::compensated,
                                                                 step_status::failed});
        CHECK(tasks_of(report.compensations) ==
              std::vector<std::string>{"ft.undo_out", "ft.undo_fault", "ft.undo_prepare"});
    }
    require_registry_works();
}

TEST_CASE("faults: an engine that ignores its stop token and sleeps past the deadline",
          "[faults][timeout]") {
    take_calls();
    SECTION("executor(): no deadline and no stop are possible, the engine simply finishes") {
        const json r = taskexec::executor("ft.pipeline", "ft.fault", "mem",
                                          {{"fault", "ignore"}, {"sleep_ms", 30}});
        CHECK(r == json{{"ignored", "ft.fault"}});
        const auto calls = take_calls();
        REQUIRE(calls.size() == 1);
        CHECK_FALSE(calls[0].stop_possible);
        CHECK(calls[0].deadline == steady::time_point::max());
    }
    SECTION("step_timeout: a later step overruns; its result is discarded, all undone") {
        taskexec::RunOptions options;
        options.step_timeout = 50ms;
        const auto start = steady::now();
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem", {{"fault", "ignore"}, {"sleep_ms", 300}}, options);
        const double took = ms_since(start);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::timed_out,
                                                                 step_status::skipped});
        const auto& step = report.steps[1];
        CHECK(step.result.is_null());  // it returned one, after its deadline
        CHECK(step.elapsed_ms >= 299.0);
        CHECK(step.error.at("code") == "timed_out");
        CHECK(contains(message_of(step.error), "step_timeout 50 ms"));
        CHECK(tasks_of(report.compensations) ==
              std::vector<std::string>{"ft.undo_fault", "ft.undo_prepare"});
        CHECK(statuses(report.compensations) ==
              std::vector<step_status>{step_status::ok, step_status::ok});
        const auto calls = take_calls();
        REQUIRE(calls.size() == 4);
        CHECK_FALSE(calls[2].stopped_at_start);  // the undo got a fresh token
        CHECK(took < 10000.0);                   // the run waited for it, and no longer
    }
    SECTION("step_timeout: an engine that overruns and then throws is timed_out, not failed") {
        taskexec::RunOptions options;
        options.step_timeout = 40ms;
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem", {{"fault", "ignore_then_throw"}, {"sleep_ms", 150}}, options);
        CHECK(report.steps[1].status == step_status::timed_out);
        CHECK(report.steps[1].error.at("code") == "timed_out");
        CHECK(report.compensations.size() == 2);
    }
    SECTION("a compensation that ignores its token overruns step_timeout; the next still runs") {
        taskexec::RunOptions options;
        options.step_timeout = 50ms;
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem", {{"fault", "std"}, {"undo_fault", "ignore"}, {"sleep_ms", 200}},
            options);
        REQUIRE(report.compensations.size() == 2);
        CHECK(report.compensations[0].task == "ft.undo_fault");
        CHECK(report.compensations[0].status == step_status::timed_out);
        CHECK(report.compensations[0].error.at("code") == "timed_out");
        CHECK(report.compensations[0].result.is_null());
        CHECK(report.compensations[0].elapsed_ms >= 199.0);
        CHECK(report.compensations[1].status == step_status::ok);
        CHECK(report.steps[0].status == step_status::compensated);
        CHECK(report.steps[1].status == step_status::failed);
    }
    SECTION(
        "run_timeout: the overrunning step is timed_out; compensations run after the "
        "run's deadline") {
        taskexec::RunOptions options;
        options.run_timeout = 80ms;
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem", {{"fault", "ignore"}, {"sleep_ms", 250}}, options);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::timed_out,
                                                                 step_status::skipped});
        CHECK(contains(message_of(report.steps[1].error), "run_timeout 80 ms"));
        CHECK(statuses(report.compensations) ==
              std::vector<step_status>{step_status::ok, step_status::ok});
        const auto calls = take_calls();
        REQUIRE(calls.size() == 4);
        CHECK(calls[2].deadline == steady::time_point::max());  // run_timeout does not bound undos
    }
    SECTION("an external stop while the engine ignores it: cancelled after it returns") {
        std::stop_source source;
        taskexec::RunOptions options;
        options.stop = source.get_token();
        std::thread stopper([&] {
            const auto give_up = steady::now() + 20s;
            while (ignoring.load() == 0 && steady::now() < give_up)
                std::this_thread::sleep_for(1ms);
            std::this_thread::sleep_for(20ms);
            source.request_stop();
        });
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem", {{"fault", "ignore"}, {"sleep_ms", 250}}, options);
        stopper.join();
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::cancelled,
                                                                 step_status::skipped});
        CHECK(report.steps[1].error.at("code") == "cancelled");
        CHECK(report.steps[1].result.is_null());
        CHECK(statuses(report.compensations) ==
              std::vector<step_status>{step_status::ok, step_status::ok});
    }
    require_registry_works();
}

TEST_CASE("faults: an engine that re-enters executor() and run_workflow()", "[faults][reentry]") {
    take_calls();
    SECTION("executor() -> execute -> executor(): the inner result comes back") {
        const json r =
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "reenter_executor"}});
        CHECK(r == json{{"inner", {{"ft.after", "ok"}}}});
        CHECK(tasks_called() == std::vector<std::string>{"ft.fault", "ft.after"});
    }
    SECTION("executor() recursing 64 levels deep through its own task") {
        const json r = taskexec::executor("ft.pipeline", "ft.fault", "mem",
                                          {{"fault", "recurse"}, {"depth", 64}});
        CHECK(r.at("bottom") == true);
        CHECK(r.at("levels") == 64);
        CHECK(take_calls().size() == 65);
    }
    SECTION("executor() -> execute -> run_workflow(): the inner run completes") {
        const json r =
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "reenter_run"}});
        CHECK(r == json{{"inner_ok", true}, {"inner_steps", 2}});
        CHECK(tasks_called() ==
              std::vector<std::string>{"ft.fault", "ft.inner_step", "ft.inner_last"});
    }
    SECTION("run_workflow() -> execute -> executor() and run_workflow(): the outer run is ok") {
        const auto report = taskexec::run_workflow(
            "ft.pipeline", "mem",
            {{"prepare_fault", "reenter_executor"}, {"fault", "reenter_run"}});
        REQUIRE(report.ok);
        CHECK(report.steps[0].result == json{{"inner", {{"ft.after", "ok"}}}});
        CHECK(report.steps[1].result.at("inner_ok") == true);
        CHECK(tasks_called() == std::vector<std::string>{"ft.prepare", "ft.after", "ft.fault",
                                                         "ft.inner_step", "ft.inner_last",
                                                         "ft.after"});
    }
    SECTION("a failing inner executor() call fails the outer step, in both entry points") {
        const auto e = catch_error([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "reenter_failing"}});
        });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "'ft.fault'"));
        CHECK(contains(e.what(), "'ft.typed_out'"));  // the inner error's text is kept
        const std::exception_ptr inner = nested_in([] {
            taskexec::executor("ft.pipeline", "ft.fault", "mem", {{"fault", "reenter_failing"}});
        });
        REQUIRE(inner);
        bool inner_is_taskexec = false;
        try {
            std::rethrow_exception(inner);
        } catch (const taskexec::error& nested) {
            inner_is_taskexec = nested.code() == errc::task_failed;
        }
        CHECK(inner_is_taskexec);

        const auto report =
            taskexec::run_workflow("ft.pipeline", "mem", {{"fault", "reenter_failing"}});
        CHECK(report.steps[1].status == step_status::failed);
        CHECK(report.steps[1].error.at("code") == "task_failed");
        CHECK(report.steps[1].error.at("task") == "ft.fault");
        CHECK(report.compensations.size() == 2);
    }
    SECTION("an inner run gets the outer step's token: the outer deadline cancels it") {
        taskexec::RunOptions options;
        options.step_timeout = 100ms;
        const json payload = {{"fault", "reenter_run"},
                              {"inner_payload", {{"inner_last_fault", "block"}}}};
        const auto start = steady::now();
        const auto report = taskexec::run_workflow("ft.pipeline", "mem", payload, options);
        CHECK(ms_since(start) < 10000.0);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::timed_out,
                                                                 step_status::skipped});
        std::lock_guard lock(inner_mutex);
        REQUIRE(last_inner_report.has_value());
        const taskexec::RunReport& inner = *last_inner_report;
        CHECK_FALSE(inner.ok);
        CHECK(statuses(inner.steps) ==
              std::vector<step_status>{step_status::compensated, step_status::cancelled});
        CHECK(tasks_of(inner.compensations) == std::vector<std::string>{"ft.undo_inner"});
        CHECK(tasks_of(report.compensations) ==
              std::vector<std::string>{"ft.undo_fault", "ft.undo_prepare"});
        last_inner_report.reset();
    }
    SECTION("on_event may call executor() and run_workflow()") {
        taskexec::RunOptions options;
        std::vector<std::string> events;
        int inner_runs_ok = 0;
        options.on_event = [&](const json& e) {
            events.push_back(e.at("event").get<std::string>());
            if (e.at("event") == "step_finished" && e.at("task") == "ft.prepare") {
                (void)taskexec::executor("ft.pipeline", "ft.after", "mem", json::object());
                taskexec::RunOptions inner;
                inner.step_timeout = 5s;
                if (taskexec::run_workflow("ft.inner", "mem", json::object(), inner).ok)
                    ++inner_runs_ok;
            }
        };
        const auto report = taskexec::run_workflow("ft.pipeline", "mem", json::object(), options);
        CHECK(report.ok);
        CHECK(inner_runs_ok == 1);
        CHECK(events.size() == 8);  // run, 3 x (started, finished), run_finished
        CHECK(tasks_called() == std::vector<std::string>{"ft.prepare", "ft.after", "ft.inner_step",
                                                         "ft.inner_last", "ft.fault", "ft.after"});
    }
    SECTION(
        "a stop callback on the deadline timer's thread dispatches and runs a timed "
        "workflow") {
        callback_ran = false;
        taskexec::RunOptions options;
        options.step_timeout = 60ms;
        const auto start = steady::now();
        const auto report = taskexec::run_workflow("ft.pipeline", "mem",
                                                   {{"fault", "stop_callback_reenter"}}, options);
        CHECK(ms_since(start) < 10000.0);  // the timer was not deadlocked by its own callback
        CHECK(report.steps[1].status == step_status::timed_out);
        CHECK(statuses(report.compensations) ==
              std::vector<step_status>{step_status::ok, step_status::ok});
        REQUIRE(callback_ran.load());
        std::lock_guard lock(inner_mutex);
        CHECK(callback_result == json{{"executor", {{"ft.after", "ok"}}}, {"run_ok", true}});
        CHECK(callback_thread != std::this_thread::get_id());
    }
    require_registry_works();
}

TEST_CASE("faults: re-entrant runs with deadlines from several threads at once",
          "[faults][reentry][threads]") {
    take_calls();
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    constexpr int per_thread = 10;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                taskexec::RunOptions options;
                options.step_timeout = t % 2 == 0 ? 10s : 20ms;
                const json payload =
                    t % 2 == 0 ? json{{"fault", "reenter_run"}, {"inner_step_timeout_ms", 5000}}
                               : json{{"fault", "reenter_run"},
                                      {"inner_payload", {{"inner_last_fault", "block"}}}};
                const auto report = taskexec::run_workflow("ft.pipeline", "mem", payload, options);
                // On a loaded machine ft.prepare may overrun 20 ms too; either
                // way the run ends timed_out with every undo succeeding.
                const bool expected =
                    t % 2 == 0 ? report.ok
                               : !report.ok && !report.compensations.empty() &&
                                     std::all_of(
                                         report.compensations.begin(), report.compensations.end(),
                                         [](const auto& c) { return c.status == step_status::ok; });
                if (expected) ++good;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(good.load() == 4 * per_thread);
    require_registry_works();
}
