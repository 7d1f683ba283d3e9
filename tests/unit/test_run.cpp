// Workflow runs: order and result merging, compensation rules, deadlines,
// cancellation, events, and up-front resolution.
//
// Every engine here is one behaviour (`behave`) steered by the payload:
// "fail": [tasks] throw, "block": [tasks] wait for their stop token,
// "ignore": [tasks] sleep `ignore_ms` without looking at it. Each call is
// logged with the payload it got and its Context, so tests can check what a
// step saw, in what order, and with which token and deadline.
#include <taskexec/taskexec.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "taskexec_catch.hpp"

using taskexec::json;
using taskexec::step_status;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct Call {
    std::string workflow, task, engine;
    json payload;
    bool stopped_at_start = false;
    bool stop_possible = false;
    steady::time_point deadline;
};

std::mutex calls_mutex;
std::vector<Call> calls;
std::atomic<int> blocked_engines{0};

std::vector<Call> take_calls() {
    std::lock_guard lock(calls_mutex);
    return std::exchange(calls, {});
}

std::vector<std::string> call_tasks(const std::vector<Call>& cs) {
    std::vector<std::string> out;
    for (const Call& c : cs) out.push_back(c.task);
    return out;
}

bool listed(const json& p, const char* key, std::string_view task) {
    const auto it = p.find(key);
    if (it == p.end() || !it->is_array()) return false;
    return std::any_of(it->begin(), it->end(), [&](const json& v) { return v == task; });
}

json behave(std::string_view task, const json& p, taskexec::Context& ctx) {
    {
        std::lock_guard lock(calls_mutex);
        calls.push_back({std::string(ctx.workflow()), std::string(ctx.task()),
                         std::string(ctx.engine()), p, ctx.stop_token().stop_requested(),
                         ctx.stop_token().stop_possible(), ctx.deadline()});
    }
    const std::string name(task);
    if (listed(p, "fail", task)) throw std::runtime_error("boom in " + name);
    if (listed(p, "block", task)) {
        // A well-behaved engine: sleeps until its token is signalled.
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        ++blocked_engines;
        const bool stopped = cv.wait_for(lock, ctx.stop_token(), 20s, [] { return false; }) ||
                             ctx.stop_token().stop_requested();
        --blocked_engines;
        if (!stopped) throw std::runtime_error("never stopped");
        if (listed(p, "throw_on_stop", task)) throw std::runtime_error("stopped: " + name);
        return {{"stopped", name}};
    }
    if (listed(p, "ignore", task))
        std::this_thread::sleep_for(std::chrono::milliseconds(p.value("ignore_ms", 100)));
    if (task == "r.gamma") return 42;  // not an object: never merged
    return {{name, 1}, {"last", name}};
}

template <class T>
struct Mem : T, taskexec::Engine<"mem"> {
    json execute(const json& p, taskexec::Context& ctx) { return behave(T::task_name, p, ctx); }
};

struct UndoAlpha : taskexec::Task<"r.undo_alpha"> {};
struct Alpha : taskexec::Task<"r.alpha"> {
    using compensation = UndoAlpha;
};
struct Beta : taskexec::Task<"r.beta"> {};
struct Gamma : taskexec::Task<"r.gamma"> {};
struct UndoDelta : taskexec::Task<"r.undo_delta"> {};
struct Delta : taskexec::Task<"r.delta"> {
    using compensation = UndoDelta;
};
struct UndoBlock : taskexec::Task<"r.undo_block"> {};
struct Block : taskexec::Task<"r.block"> {
    using compensation = UndoBlock;
};

// The sales shape: the compensation of the first step is also the last step.
struct Unquiesce : taskexec::Task<"r.unquiesce"> {};
struct Quiesce : taskexec::Task<"r.quiesce"> {
    using compensation = Unquiesce;
};
struct Snapshot : taskexec::Task<"r.snapshot"> {};
struct AnySnapshot : Snapshot, taskexec::any_engine {
    json execute(const json& p, taskexec::Context& ctx) { return behave(task_name, p, ctx); }
};

// Two steps undone by one compensation.
struct UnlockAll : taskexec::Task<"r.unlock_all"> {};
struct Lock1 : taskexec::Task<"r.lock1"> {
    using compensation = UnlockAll;
};
struct Lock2 : taskexec::Task<"r.lock2"> {
    using compensation = UnlockAll;
};

// A typed payload: a bad one fails before the engine is constructed.
struct TypedParams {
    int n = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TypedParams, n)
struct UndoTyped : taskexec::Task<"r.undo_typed"> {};
struct Typed : taskexec::Task<"r.typed", TypedParams> {
    using compensation = UndoTyped;
};
struct MemTyped : Typed, taskexec::Engine<"mem"> {
    json execute(const TypedParams& p) { return {{"n", p.n}}; }
};

// A compensation with no engine of type "mem".
struct OrphanUndo : taskexec::Task<"r.orphan_undo"> {};
struct Orphan : taskexec::Task<"r.orphan"> {
    using compensation = OrphanUndo;
};

TASKEXEC_ENGINE(Mem<Alpha>);
TASKEXEC_ENGINE(Mem<UndoAlpha>);
TASKEXEC_ENGINE(Mem<Beta>);
TASKEXEC_ENGINE(Mem<Gamma>);
TASKEXEC_ENGINE(Mem<Delta>);
TASKEXEC_ENGINE(Mem<UndoDelta>);
TASKEXEC_ENGINE(Mem<Block>);
TASKEXEC_ENGINE(Mem<UndoBlock>);
TASKEXEC_ENGINE(Mem<Quiesce>);
TASKEXEC_ENGINE(Mem<Unquiesce>);
TASKEXEC_ENGINE(AnySnapshot);
TASKEXEC_ENGINE(Mem<Lock1>);
TASKEXEC_ENGINE(Mem<Lock2>);
TASKEXEC_ENGINE(Mem<UnlockAll>);
TASKEXEC_ENGINE(MemTyped);
TASKEXEC_ENGINE(Mem<UndoTyped>);
TASKEXEC_ENGINE(Mem<Orphan>);

struct OrderWorkflow : taskexec::Workflow<"run.order", Alpha, Beta, Gamma, Delta> {};
struct FirstWorkflow : taskexec::Workflow<"run.first", Alpha, Beta> {};
struct SlowWorkflow : taskexec::Workflow<"run.slow", Alpha, Block, Beta> {};
struct SalesWorkflow : taskexec::Workflow<"run.sales", Quiesce, Snapshot, Unquiesce, Beta> {};
struct LocksWorkflow : taskexec::Workflow<"run.locks", Lock1, Lock2, Beta> {};
struct TypedWorkflow : taskexec::Workflow<"run.typed", Typed, Alpha> {};
struct OrphanWorkflow : taskexec::Workflow<"run.orphan", Alpha, Orphan> {};
TASKEXEC_WORKFLOW(OrderWorkflow);
TASKEXEC_WORKFLOW(FirstWorkflow);
TASKEXEC_WORKFLOW(SlowWorkflow);
TASKEXEC_WORKFLOW(SalesWorkflow);
TASKEXEC_WORKFLOW(LocksWorkflow);
TASKEXEC_WORKFLOW(TypedWorkflow);
TASKEXEC_WORKFLOW(OrphanWorkflow);

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

// A credential in every payload: no report error, event or message may show it.
const std::string secret = "hunter2-secret";

json payload_with(json extra) {
    json p = {{"password", secret}, {"last", "payload"}};
    if (extra.is_object()) p.update(extra);
    return p;
}

}  // namespace

TEST_CASE("step_status names", "[run]") {
    CHECK(taskexec::to_string(step_status::ok) == "ok");
    CHECK(taskexec::to_string(step_status::failed) == "failed");
    CHECK(taskexec::to_string(step_status::timed_out) == "timed_out");
    CHECK(taskexec::to_string(step_status::cancelled) == "cancelled");
    CHECK(taskexec::to_string(step_status::skipped) == "skipped");
    CHECK(taskexec::to_string(step_status::compensated) == "compensated");
}

TEST_CASE("steps run in order, each with the payload merged with earlier object results", "[run]") {
    take_calls();
    const json payload = payload_with({{"x", 1}});
    const auto report = taskexec::run_workflow("run.order", "mem", payload);
    const auto cs = take_calls();

    REQUIRE(report.ok);
    CHECK(report.workflow == "run.order");
    CHECK(report.engine == "mem");
    CHECK(tasks_of(report.steps) ==
          std::vector<std::string>{"r.alpha", "r.beta", "r.gamma", "r.delta"});
    CHECK(statuses(report.steps) == std::vector<step_status>(4, step_status::ok));
    CHECK(report.compensations.empty());
    REQUIRE(call_tasks(cs) == std::vector<std::string>{"r.alpha", "r.beta", "r.gamma", "r.delta"});

    CHECK(cs[0].payload == payload);  // the first step gets the run payload as is
    CHECK(cs[1].payload.at("r.alpha") == 1);
    CHECK(cs[1].payload.at("last") == "r.alpha");  // later keys win
    CHECK(cs[1].payload.at("x") == 1);
    CHECK(cs[2].payload.at("last") == "r.beta");
    CHECK(cs[3].payload.at("last") == "r.beta");  // gamma's 42 is not merged
    CHECK(cs[3].payload.size() == payload.size() + 2);
    for (const Call& c : cs) {
        CHECK(c.workflow == "run.order");
        CHECK(c.engine == "mem");
        CHECK_FALSE(c.stop_possible);  // no timeout, no stop: an empty token
        CHECK(c.deadline == steady::time_point::max());
    }

    CHECK(report.steps[2].result == 42);
    CHECK(report.steps[3].result == json({{"r.delta", 1}, {"last", "r.delta"}}));
    for (const auto& s : report.steps) {
        CHECK(s.error.is_null());
        CHECK(s.elapsed_ms >= 0.0);
    }

    const json j = report.to_json();
    CHECK(j.at("ok") == true);
    CHECK(j.at("workflow") == "run.order");
    CHECK(j.at("engine") == "mem");
    CHECK(j.at("compensations") == json::array());
    REQUIRE(j.at("steps").size() == 4);
    CHECK(j["steps"][0].at("task") == "r.alpha");
    CHECK(j["steps"][0].at("status") == "ok");
    CHECK(j["steps"][0].at("result").at("r.alpha") == 1);
    CHECK(j["steps"][0].at("elapsed_ms").is_number());
    CHECK_FALSE(j["steps"][0].contains("error"));
    CHECK_FALSE(j["steps"][0].contains("undoes"));
}

TEST_CASE("a failing middle step: earlier steps are compensated, later ones skipped", "[run]") {
    take_calls();
    const auto report =
        taskexec::run_workflow("run.order", "mem", payload_with({{"fail", {"r.gamma"}}}));
    const auto cs = take_calls();

    CHECK_FALSE(report.ok);
    CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                             step_status::ok, step_status::failed,
                                                             step_status::skipped});
    CHECK(call_tasks(cs) ==
          std::vector<std::string>{"r.alpha", "r.beta", "r.gamma", "r.undo_alpha"});

    // The compensation got the run payload merged with every successful result.
    CHECK(cs[3].payload.at("r.alpha") == 1);
    CHECK(cs[3].payload.at("r.beta") == 1);
    CHECK(cs[3].payload.at("last") == "r.beta");
    CHECK(cs[3].workflow == "run.order");
    CHECK(cs[3].engine == "mem");

    REQUIRE(report.compensations.size() == 1);
    const auto& undo = report.compensations[0];
    CHECK(undo.task == "r.undo_alpha");
    CHECK(undo.undoes == "r.alpha");
    CHECK(undo.status == step_status::ok);
    CHECK(undo.result.at("r.undo_alpha") == 1);

    const json& error = report.steps[2].error;
    CHECK(error.at("code") == "task_failed");
    CHECK(error.at("workflow") == "run.order");
    CHECK(error.at("task") == "r.gamma");
    CHECK(error.at("engine") == "mem");
    CHECK(error.at("message").get<std::string>().find("boom in r.gamma") != std::string::npos);
    CHECK(report.steps[2].result.is_null());

    const json j = report.to_json();
    CHECK(j.at("ok") == false);
    CHECK(j["steps"][0].at("status") == "compensated");
    CHECK(j["steps"][0].contains("result"));
    CHECK(j["steps"][2].at("status") == "failed");
    CHECK(j["steps"][2].contains("error"));
    CHECK_FALSE(j["steps"][2].contains("result"));
    CHECK(j["steps"][3] == json({{"task", "r.delta"}, {"status", "skipped"}, {"elapsed_ms", 0.0}}));
    CHECK(j["compensations"][0].at("undoes") == "r.alpha");
    CHECK(j["compensations"][0].at("status") == "ok");
}

TEST_CASE("a failed step that was attempted is compensated itself, before the earlier ones",
          "[run]") {
    take_calls();
    const auto report =
        taskexec::run_workflow("run.order", "mem", payload_with({{"fail", {"r.delta"}}}));
    const auto cs = take_calls();
    CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                             step_status::ok, step_status::ok,
                                                             step_status::failed});
    CHECK(call_tasks(cs) == std::vector<std::string>{"r.alpha", "r.beta", "r.gamma", "r.delta",
                                                     "r.undo_delta", "r.undo_alpha"});
    CHECK(tasks_of(report.compensations) ==
          std::vector<std::string>{"r.undo_delta", "r.undo_alpha"});
    CHECK(report.compensations[0].undoes == "r.delta");
    CHECK(report.compensations[1].undoes == "r.alpha");
}

TEST_CASE("a failing first step that was attempted is compensated", "[run]") {
    take_calls();
    const auto report =
        taskexec::run_workflow("run.first", "mem", payload_with({{"fail", {"r.alpha"}}}));
    const auto cs = take_calls();
    CHECK_FALSE(report.ok);
    CHECK(statuses(report.steps) ==
          std::vector<step_status>{step_status::failed, step_status::skipped});
    CHECK(call_tasks(cs) == std::vector<std::string>{"r.alpha", "r.undo_alpha"});
    REQUIRE(report.compensations.size() == 1);
    CHECK(report.compensations[0].undoes == "r.alpha");
    CHECK(report.compensations[0].status == step_status::ok);
    CHECK(cs[1].payload == payload_with({{"fail", {"r.alpha"}}}));  // nothing succeeded to merge
}

TEST_CASE("a step whose payload does not convert was not attempted: no compensation of its own",
          "[run]") {
    take_calls();
    const auto report = taskexec::run_workflow("run.typed", "mem", json{{"n", "not a number"}});
    CHECK(statuses(report.steps) ==
          std::vector<step_status>{step_status::failed, step_status::skipped});
    CHECK(report.steps[0].error.at("code") == "invalid_payload");
    CHECK(report.steps[0].error.at("field") == "/n");
    CHECK(report.compensations.empty());
    CHECK(take_calls().empty());
}

TEST_CASE("a failing compensation is reported and the others still run", "[run]") {
    take_calls();
    const auto report = taskexec::run_workflow(
        "run.order", "mem", payload_with({{"fail", {"r.delta", "r.undo_delta"}}}));
    const auto cs = take_calls();
    CHECK(call_tasks(cs) == std::vector<std::string>{"r.alpha", "r.beta", "r.gamma", "r.delta",
                                                     "r.undo_delta", "r.undo_alpha"});
    REQUIRE(report.compensations.size() == 2);
    CHECK(report.compensations[0].status == step_status::failed);
    CHECK(report.compensations[0].error.at("code") == "task_failed");
    CHECK(report.compensations[0].error.at("task") == "r.undo_delta");
    CHECK(report.compensations[0].result.is_null());
    CHECK(report.compensations[1].status == step_status::ok);
    CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                             step_status::ok, step_status::ok,
                                                             step_status::failed});
    const json j = report.to_json();
    CHECK(j["compensations"][0].at("status") == "failed");
    CHECK(j["compensations"][0].contains("error"));

    // A step whose own compensation failed keeps `ok`.
    const auto again = taskexec::run_workflow(
        "run.order", "mem", payload_with({{"fail", {"r.gamma", "r.undo_alpha"}}}));
    CHECK(again.steps[0].status == step_status::ok);
    CHECK(again.compensations.at(0).status == step_status::failed);
    take_calls();
}

TEST_CASE("a compensation attempted as a step is not run again; a shared one runs once", "[run]") {
    take_calls();
    // Snapshot fails: unquiesce has not run yet, so it runs as the undo.
    auto report =
        taskexec::run_workflow("run.sales", "mem", payload_with({{"fail", {"r.snapshot"}}}));
    CHECK(call_tasks(take_calls()) ==
          std::vector<std::string>{"r.quiesce", "r.snapshot", "r.unquiesce"});
    CHECK(statuses(report.steps) ==
          std::vector<step_status>{step_status::compensated, step_status::failed,
                                   step_status::skipped, step_status::skipped});
    REQUIRE(report.compensations.size() == 1);
    CHECK(report.compensations[0].undoes == "r.quiesce");

    // Unquiesce itself fails as a step: it is not attempted a second time.
    report = taskexec::run_workflow("run.sales", "mem", payload_with({{"fail", {"r.unquiesce"}}}));
    CHECK(call_tasks(take_calls()) ==
          std::vector<std::string>{"r.quiesce", "r.snapshot", "r.unquiesce"});
    CHECK(report.compensations.empty());
    CHECK(statuses(report.steps) == std::vector<step_status>{step_status::ok, step_status::ok,
                                                             step_status::failed,
                                                             step_status::skipped});

    // A step after unquiesce fails: unquiesce ran as a step already.
    report = taskexec::run_workflow("run.sales", "mem", payload_with({{"fail", {"r.beta"}}}));
    CHECK(call_tasks(take_calls()) ==
          std::vector<std::string>{"r.quiesce", "r.snapshot", "r.unquiesce", "r.beta"});
    CHECK(report.compensations.empty());

    // Two steps share one compensation: it runs once and covers both.
    report = taskexec::run_workflow("run.locks", "mem", payload_with({{"fail", {"r.beta"}}}));
    CHECK(call_tasks(take_calls()) ==
          std::vector<std::string>{"r.lock1", "r.lock2", "r.beta", "r.unlock_all"});
    REQUIRE(report.compensations.size() == 1);
    CHECK(report.compensations[0].undoes == "r.lock2");
    CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                             step_status::compensated,
                                                             step_status::failed});
}

TEST_CASE("the \"*\" fallback serves a run step; the context names the requested engine", "[run]") {
    take_calls();
    const auto report = taskexec::run_workflow("run.sales", "mem", json::object());
    CHECK(report.ok);
    const auto cs = take_calls();
    REQUIRE(cs.size() == 4);
    CHECK(cs[1].task == "r.snapshot");
    CHECK(cs[1].engine == "mem");
}

TEST_CASE("a step timeout signals the step's token; the step is timed_out and compensated",
          "[run][timeout]") {
    take_calls();
    taskexec::RunOptions options;
    options.step_timeout = 100ms;
    SECTION("the engine returns a result after the stop") {
        const auto report = taskexec::run_workflow("run.slow", "mem",
                                                   payload_with({{"block", {"r.block"}}}), options);
        const auto cs = take_calls();
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::timed_out,
                                                                 step_status::skipped});
        const auto& step = report.steps[1];
        CHECK(step.result.is_null());  // timed_out even though it returned one
        CHECK(step.elapsed_ms >= 99.0);
        CHECK(step.error.at("code") == "timed_out");
        CHECK(step.error.at("workflow") == "run.slow");
        CHECK(step.error.at("task") == "r.block");
        CHECK(step.error.at("engine") == "mem");
        CHECK(step.error.at("message").get<std::string>().find("step_timeout 100 ms") !=
              std::string::npos);
        REQUIRE(call_tasks(cs) ==
                std::vector<std::string>{"r.alpha", "r.block", "r.undo_block", "r.undo_alpha"});
        CHECK(cs[1].stop_possible);
        CHECK(cs[1].deadline != steady::time_point::max());
        // Compensations: fresh, unsignalled tokens, bounded by step_timeout.
        CHECK_FALSE(cs[2].stopped_at_start);
        CHECK(cs[2].stop_possible);
        CHECK(cs[2].deadline > cs[1].deadline);
        CHECK(tasks_of(report.compensations) ==
              std::vector<std::string>{"r.undo_block", "r.undo_alpha"});
        CHECK(report.compensations[0].status == step_status::ok);
    }
    SECTION("the engine throws when stopped") {
        const auto report = taskexec::run_workflow(
            "run.slow", "mem",
            payload_with({{"block", {"r.block"}}, {"throw_on_stop", {"r.block"}}}), options);
        CHECK(report.steps[1].status == step_status::timed_out);
        CHECK(report.steps[1].error.at("code") == "timed_out");
        take_calls();
    }
    SECTION("an engine that ignores its token runs to the end and is still timed_out") {
        options.step_timeout = 30ms;
        const auto report = taskexec::run_workflow(
            "run.slow", "mem", payload_with({{"ignore", {"r.alpha"}}, {"ignore_ms", 120}}),
            options);
        CHECK(report.steps[0].status == step_status::timed_out);
        CHECK(report.steps[0].elapsed_ms >= 119.0);  // the run waited for it
        CHECK(call_tasks(take_calls()) == std::vector<std::string>{"r.alpha", "r.undo_alpha"});
    }
    SECTION("a compensation that overruns step_timeout is timed_out") {
        const auto report = taskexec::run_workflow(
            "run.slow", "mem", payload_with({{"fail", {"r.beta"}}, {"block", {"r.undo_block"}}}),
            options);
        REQUIRE(report.compensations.size() == 2);
        CHECK(report.compensations[0].task == "r.undo_block");
        CHECK(report.compensations[0].status == step_status::timed_out);
        CHECK(report.compensations[0].error.at("code") == "timed_out");
        CHECK(report.compensations[1].status == step_status::ok);
        CHECK(report.steps[1].status == step_status::ok);  // its undo failed
        CHECK(report.steps[0].status == step_status::compensated);
        take_calls();
    }
}

TEST_CASE("a whole-run deadline bounds every step and is checked between steps", "[run][timeout]") {
    take_calls();
    taskexec::RunOptions options;
    options.run_timeout = 150ms;
    SECTION("the step running at the deadline is timed_out") {
        const auto report = taskexec::run_workflow("run.slow", "mem",
                                                   payload_with({{"block", {"r.block"}}}), options);
        const auto cs = take_calls();
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::timed_out,
                                                                 step_status::skipped});
        CHECK(report.steps[1].error.at("message").get<std::string>().find("run_timeout 150 ms") !=
              std::string::npos);
        REQUIRE(cs.size() == 4);
        // Every step's deadline is the run's: start + run_timeout.
        CHECK(cs[0].deadline == cs[1].deadline);
        // run_timeout does not apply to compensations (no step_timeout: none).
        CHECK(cs[2].deadline == steady::time_point::max());
        CHECK_FALSE(cs[2].stopped_at_start);
    }
    SECTION("the earlier of step_timeout and run_timeout wins") {
        options.step_timeout = 10s;
        const auto report = taskexec::run_workflow("run.slow", "mem",
                                                   payload_with({{"block", {"r.block"}}}), options);
        CHECK(report.steps[1].status == step_status::timed_out);
        CHECK(report.steps[1].elapsed_ms < 9000.0);
        CHECK(report.steps[1].error.at("message").get<std::string>().find("run_timeout") !=
              std::string::npos);
        const auto cs = take_calls();
        CHECK(cs.at(0).deadline == cs.at(1).deadline);
        // The compensation gets its own step_timeout bound.
        CHECK(cs.at(2).deadline != steady::time_point::max());
    }
    SECTION("out of time between steps: the next step is timed_out without running") {
        options.on_event = [](const json& e) {
            if (e.at("event") == "step_finished" && e.at("task") == "r.alpha")
                std::this_thread::sleep_for(250ms);
        };
        const auto report = taskexec::run_workflow("run.slow", "mem", payload_with({}), options);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::timed_out,
                                                                 step_status::skipped});
        CHECK(report.steps[1].elapsed_ms == 0.0);
        CHECK(report.steps[1].error.at("code") == "timed_out");
        CHECK(report.steps[1].error.at("message").get<std::string>().find("not started") !=
              std::string::npos);
        // r.block never ran, so r.undo_block does not run either.
        CHECK(call_tasks(take_calls()) == std::vector<std::string>{"r.alpha", "r.undo_alpha"});
    }
}

TEST_CASE("an external stop cancels the running step; compensations still run", "[run][cancel]") {
    take_calls();
    const bool with_timeout = GENERATE(false, true);  // token passed through / forwarded
    INFO("with a timeout too: " << with_timeout);
    std::stop_source source;
    taskexec::RunOptions options;
    options.stop = source.get_token();
    if (with_timeout) options.step_timeout = 20s;
    blocked_engines = 0;
    std::thread canceller([&] {
        const auto give_up = steady::now() + 20s;
        while (blocked_engines.load() == 0 && steady::now() < give_up)
            std::this_thread::sleep_for(1ms);
        source.request_stop();
    });
    const auto report =
        taskexec::run_workflow("run.slow", "mem", payload_with({{"block", {"r.block"}}}), options);
    canceller.join();
    const auto cs = take_calls();
    CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                             step_status::cancelled,
                                                             step_status::skipped});
    CHECK(report.steps[1].error.at("code") == "cancelled");
    CHECK(report.steps[1].error.at("task") == "r.block");
    CHECK(report.steps[1].elapsed_ms < 19000.0);
    CHECK(call_tasks(cs) ==
          std::vector<std::string>{"r.alpha", "r.block", "r.undo_block", "r.undo_alpha"});
    REQUIRE(cs.size() == 4);
    CHECK_FALSE(cs[2].stopped_at_start);  // the undo's token is not the cancelled one
    CHECK(report.compensations.at(0).status == step_status::ok);
}

TEST_CASE("a run stopped before a step starts: that step is cancelled without running",
          "[run][cancel]") {
    take_calls();
    std::stop_source source;
    taskexec::RunOptions options;
    options.stop = source.get_token();
    SECTION("stopped before the run") {
        source.request_stop();
        const auto report = taskexec::run_workflow("run.slow", "mem", payload_with({}), options);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::cancelled,
                                                                 step_status::skipped,
                                                                 step_status::skipped});
        CHECK(report.steps[0].error.at("code") == "cancelled");
        CHECK(report.compensations.empty());
        CHECK(take_calls().empty());
    }
    SECTION("stopped between two steps") {
        options.on_event = [&](const json& e) {
            if (e.at("event") == "step_finished") source.request_stop();
        };
        const auto report = taskexec::run_workflow("run.slow", "mem", payload_with({}), options);
        CHECK(statuses(report.steps) == std::vector<step_status>{step_status::compensated,
                                                                 step_status::cancelled,
                                                                 step_status::skipped});
        CHECK(call_tasks(take_calls()) == std::vector<std::string>{"r.alpha", "r.undo_alpha"});
    }
}

TEST_CASE("events: in order, with the documented keys and no payload values", "[run][events]") {
    take_calls();
    std::vector<json> events;
    taskexec::RunOptions options;
    options.on_event = [&](const json& e) { events.push_back(e); };
    const auto report = taskexec::run_workflow(
        "run.order", "mem", payload_with({{"fail", {"r.delta", "r.undo_delta"}}}), options);
    take_calls();

    std::vector<std::string> seen;
    for (const json& e : events) {
        CHECK(e.at("workflow") == "run.order");
        CHECK(e.at("engine") == "mem");
        seen.push_back(e.at("event").get<std::string>() +
                       (e.contains("task") ? " " + e["task"].get<std::string>() : ""));
        CHECK(e.dump().find(secret) == std::string::npos);
    }
    CHECK(seen == std::vector<std::string>{
                      "run_started", "step_started r.alpha", "step_finished r.alpha",
                      "step_started r.beta", "step_finished r.beta", "step_started r.gamma",
                      "step_finished r.gamma", "step_started r.delta", "step_failed r.delta",
                      "compensation_started r.undo_delta", "compensation_failed r.undo_delta",
                      "compensation_started r.undo_alpha", "compensation_finished r.undo_alpha",
                      "run_finished"});
    REQUIRE(events.size() == 14);
    CHECK(events[2].at("status") == "ok");
    CHECK(events[2].at("elapsed_ms").is_number());
    CHECK_FALSE(events[1].contains("status"));
    CHECK(events[8].at("status") == "failed");
    CHECK(events[8].at("error").at("code") == "task_failed");
    CHECK(events[9].at("undoes") == "r.delta");
    CHECK(events[10].at("undoes") == "r.delta");
    CHECK(events[10].at("status") == "failed");
    CHECK(events[12].at("status") == "ok");
    CHECK(events[13].at("status") == "failed");
    CHECK(events[13].at("ok") == false);
    CHECK(events[13].at("elapsed_ms").is_number());

    CHECK(report.to_json().dump().find(secret) == std::string::npos);
}

TEST_CASE("an exception from on_event is swallowed", "[run][events]") {
    take_calls();
    int count = 0;
    taskexec::RunOptions options;
    options.on_event = [&](const json&) {
        ++count;
        throw std::runtime_error("listener broke");
    };
    const auto report = taskexec::run_workflow("run.first", "mem", json::object(), options);
    CHECK(report.ok);
    CHECK(count == 6);
    CHECK(take_calls().size() == 2);
}

TEST_CASE("everything is resolved before anything runs", "[run][resolve]") {
    take_calls();
    using taskexec::errc;
    const auto code_of = [](auto&& f) {
        try {
            f();
        } catch (const taskexec::error& e) {
            return std::string(taskexec::to_string(e.code()));
        }
        return std::string("no error");
    };
    CHECK(code_of([] { taskexec::run_workflow("run.nope", "mem", json::object()); }) ==
          "unknown_workflow");
    CHECK(code_of([] { taskexec::run_workflow("run.order", "postgres", json::object()); }) ==
          "unknown_engine");
    // The step has an engine, its compensation has none: nothing runs.
    try {
        taskexec::run_workflow("run.orphan", "mem", json::object());
        FAIL("expected unknown_engine");
    } catch (const taskexec::error& e) {
        CHECK(e.code() == errc::unknown_engine);
        CHECK(e.to_json().at("task") == "r.orphan_undo");
        CHECK(std::string(e.what()).find("taskexec_link_registrations") != std::string::npos);
    }
    // Resolution comes first, then the payload's shape.
    CHECK(code_of([] { taskexec::run_workflow("run.nope", "mem", json::array()); }) ==
          "unknown_workflow");
    try {
        taskexec::run_workflow("run.order", "mem", json(secret));
        FAIL("expected invalid_payload");
    } catch (const taskexec::error& e) {
        CHECK(e.code() == errc::invalid_payload);
        CHECK_FALSE(e.to_json().contains("field"));
        CHECK(e.to_json().at("workflow") == "run.order");
        CHECK(std::string(e.what()).find(secret) == std::string::npos);
    }
    CHECK(take_calls().empty());

    taskexec::RunOptions negative;
    negative.step_timeout = -1ms;
    CHECK_THROWS_AS(taskexec::run_workflow("run.order", "mem", json::object(), negative),
                    std::invalid_argument);
}

TEST_CASE("concurrent runs with and without deadlines", "[run][threads]") {
    take_calls();
    std::atomic<int> good{0};
    std::vector<std::thread> threads;
    constexpr int per_thread = 20;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                taskexec::RunOptions options;
                if (t % 2 == 0) options.step_timeout = 5ms;
                const json payload = t % 2 == 0 ? json{{"block", {"r.block"}}} : json::object();
                const auto report = taskexec::run_workflow("run.slow", "mem", payload, options);
                // On a loaded machine alpha may overrun 5 ms too; either
                // way the run ends timed_out, with the attempted steps undone.
                const bool timed_out =
                    std::any_of(report.steps.begin(), report.steps.end(),
                                [](const auto& s) { return s.status == step_status::timed_out; });
                const bool expected = t % 2 == 0
                                          ? !report.ok && timed_out && !report.compensations.empty()
                                          : report.ok;
                if (expected) ++good;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(good == 4 * per_thread);
    take_calls();
}
