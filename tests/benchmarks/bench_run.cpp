// Workflow-run overhead (target 8): run_workflow() of three trivial steps
// against three executor() calls doing the same dispatches, in the same
// binary. The difference divided by three is the per-step price of a run:
// planning, result merging, the stop source, the report.
#include <benchmark/benchmark.h>

#include <string>

#include <taskexec/taskexec.hpp>

using taskexec::json;

namespace bench_run {

// Three steps that return tiny object results, as real steps do (run_workflow
// merges them into the next step's payload).
struct Step1 : taskexec::Task<"bench.step1"> {};
struct Step2 : taskexec::Task<"bench.step2"> {};
struct Step3 : taskexec::Task<"bench.step3"> {};
struct Step1Local : Step1, taskexec::Engine<"local"> {
    json execute(const json&) { return {{"one", 1}}; }
};
struct Step2Local : Step2, taskexec::Engine<"local"> {
    json execute(const json&) { return {{"two", 2}}; }
};
struct Step3Local : Step3, taskexec::Engine<"local"> {
    json execute(const json&) { return {{"three", 3}}; }
};
struct ThreeSteps : taskexec::Workflow<"bench.three", Step1, Step2, Step3> {};

}  // namespace bench_run

TASKEXEC_ENGINE(bench_run::Step1Local);
TASKEXEC_ENGINE(bench_run::Step2Local);
TASKEXEC_ENGINE(bench_run::Step3Local);
TASKEXEC_WORKFLOW(bench_run::ThreeSteps);

namespace {

std::string workflow_name = "bench.three";
std::string engine_name = "local";

/// The baseline: what a caller writes without run_workflow — three
/// executor() calls, each step seeing the previous results merged in.
void BM_three_executor_calls(benchmark::State& state) {
    const json payload = {{"label", "benchmark"}};
    for (auto _ : state) {
        json p = payload;
        p.update(taskexec::executor(workflow_name, "bench.step1", engine_name, p));
        p.update(taskexec::executor(workflow_name, "bench.step2", engine_name, p));
        json r = taskexec::executor(workflow_name, "bench.step3", engine_name, p);
        benchmark::DoNotOptimize(r);
    }
}

void BM_run_workflow_three_steps(benchmark::State& state) {
    const json payload = {{"label", "benchmark"}};
    const taskexec::RunOptions options;
    for (auto _ : state) {
        taskexec::RunReport report = taskexec::run_workflow(workflow_name, engine_name, payload, options);
        if (!report.ok) state.SkipWithError("run failed");
        benchmark::DoNotOptimize(report);
    }
}

}  // namespace

BENCHMARK(BM_three_executor_calls);
BENCHMARK(BM_run_workflow_three_steps);

BENCHMARK_MAIN();
