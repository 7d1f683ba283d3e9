// Dispatch cost: executor() by names, a Route, and two baselines in the same
// binary — the floor (calling the engine's execute directly, its body in
// view) and the naive
// design (a std::unordered_map<std::string, std::function> keyed by a string
// built per call). Figures are ratios within one run; see run_benchmarks.sh.
#include <benchmark/benchmark.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "alloc_counter.hpp"
#include "bench_engines.hpp"

using taskexec::json;

// Registered here, in the file that calls it, as the quick-start example
// registers its engines. (bench::AddApart is registered in bench_engines.cpp.)
TASKEXEC_ENGINE(bench::AddLocal);
TASKEXEC_WORKFLOW(bench::AddWf);

namespace {

// Names arrive as runtime strings in real use; keep the optimiser honest.
std::string workflow_name = "bench.wf";
std::string task_name = "bench.add";
std::string engine_name = "local";

/// Heap allocations per call (target: 0), and calls as items, so that
/// items_per_second gives the throughput of the multi-threaded runs.
void report_allocations(benchmark::State& state, std::uint64_t before) {
    state.SetItemsProcessed(state.iterations());
    state.counters["allocs_per_call"] =
        benchmark::Counter(static_cast<double>(bench::allocations() - before) /
                           static_cast<double>(state.iterations()));
}

void BM_direct_execute(benchmark::State& state) {
    const json payload = bench::make_payload();
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        bench::AddLocal engine;  // executor() builds a fresh engine per call too
        json r = engine.execute(payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocations(state, before);
}

/// Not a target: the engine's execute behind a direct call the compiler may
/// not inline, so that its body cannot be folded into this loop — the cost
/// of the direct call itself. Reported beside target 3 (benchmark_report.py).
[[gnu::noinline]] json execute_not_inlined(const json& payload) {
    bench::AddLocal engine;
    return engine.execute(payload);
}

void BM_direct_call_not_inlined(benchmark::State& state) {
    const json payload = bench::make_payload();
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        json r = execute_not_inlined(payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocations(state, before);
}

void BM_executor(benchmark::State& state) {
    const json payload = bench::make_payload();
    (void)taskexec::executor(workflow_name, task_name, engine_name, payload);  // warm snapshot
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        json r = taskexec::executor(workflow_name, task_name, engine_name, payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocations(state, before);
}

void BM_route(benchmark::State& state) {
    const json payload = bench::make_payload();
    const taskexec::Route route = taskexec::resolve(workflow_name, task_name, engine_name);
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        json r = route(payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocations(state, before);
}

/// Not a target: the same Route call, to the same body registered from a
/// file of its own (bench::AddApart). Reported beside target 3.
void BM_route_registered_apart(benchmark::State& state) {
    const json payload = bench::make_payload();
    const taskexec::Route route = taskexec::resolve(workflow_name, task_name, "apart");
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        json r = route(payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocations(state, before);
}

void BM_unordered_map_function(benchmark::State& state) {
    const json payload = bench::make_payload();
    std::unordered_map<std::string, std::function<json(const json&)>> table;
    table["bench.wf/bench.add/local"] = [](const json& p) { return bench::AddLocal{}.execute(p); };
    for (int i = 0; i < 16; ++i)
        table["bench.wf/other" + std::to_string(i) + "/local"] = [](const json& p) { return p; };
    const std::uint64_t before = bench::allocations();
    for (auto _ : state) {
        const std::string key = workflow_name + "/" + task_name + "/" + engine_name;
        json r = table.at(key)(payload);
        benchmark::DoNotOptimize(r);
    }
    report_allocations(state, before);
}

}  // namespace

BENCHMARK(BM_direct_execute);
BENCHMARK(BM_direct_call_not_inlined);
BENCHMARK(BM_executor);
BENCHMARK(BM_route);
BENCHMARK(BM_route_registered_apart);
BENCHMARK(BM_unordered_map_function);
// Throughput scaling: each thread dispatches with its own payload.
BENCHMARK(BM_executor)->Name("BM_executor_threads")->Threads(1)->Threads(2)->UseRealTime();

BENCHMARK_MAIN();
