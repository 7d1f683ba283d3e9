// Registration at scale: TASKEXEC_BENCH_REGISTRATIONS (10,000 for the
// published figures) engines registered by a generated
// translation unit at load time, and dispatch look-ups with 10,000
// registered against look-ups with 10 — same key, same code, same binary.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include <taskexec/executor.hpp>

#include "bench_generated.hpp"

TASKEXEC_WORKFLOW(bench::GenWf);

namespace {

using clock_type = std::chrono::steady_clock;

/// How long the first look-up after load took: it builds the snapshot of
/// every registration (hashing, sorting, conflict detection).
double first_lookup_seconds = 0;

/// Reports a duration measured once (at load) as the benchmark's time.
void report_once(benchmark::State& state, double seconds) {
    for (auto _ : state) state.SetIterationTime(seconds);
}

void BM_register_generated_at_load(benchmark::State& state) {
    const std::chrono::duration<double> load = bench::generated_end - bench::generated_begin;
    report_once(state, load.count());
    state.counters["engines"] = bench::generated_count;
}

void BM_first_lookup_after_load(benchmark::State& state) {
    report_once(state, first_lookup_seconds);
}

/// The snapshot of `records`, restricted to the first `engines` engines.
std::unique_ptr<taskexec::detail::Index> index_with(std::size_t engines) {
    std::vector<taskexec::detail::Record> kept;
    std::size_t seen = 0;
    for (const auto& r : taskexec::detail::Registry::instance().records()) {
        if (r.kind == taskexec::detail::record_kind::engine && r.task->name == "bench.gen") {
            if (seen++ >= engines) continue;
        }
        kept.push_back(r);
    }
    return taskexec::detail::Index::build(kept, 0);
}

void lookup(benchmark::State& state, const taskexec::detail::Index& ix) {
    // "g7" exists in both snapshots: identical hashing and comparing work.
    for (auto _ : state) {
        auto r = taskexec::detail::resolve_in(ix, "bench.gen_wf", "bench.gen", "g7");
        benchmark::DoNotOptimize(r);
    }
}

void BM_lookup_10_registered(benchmark::State& state) {
    const auto ix = index_with(10);
    lookup(state, *ix);
}

void BM_lookup_generated_registered(benchmark::State& state) {
    const auto ix = index_with(static_cast<std::size_t>(bench::generated_count));
    state.counters["engines"] = static_cast<double>(ix->engines.size());
    lookup(state, *ix);
}

void BM_snapshot_build_generated(benchmark::State& state) {
    const auto records = taskexec::detail::Registry::instance().records();
    for (auto _ : state) {
        auto ix = taskexec::detail::Index::build(records, 0);
        benchmark::DoNotOptimize(ix);
    }
}

}  // namespace

BENCHMARK(BM_register_generated_at_load)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_first_lookup_after_load)->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_snapshot_build_generated)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_lookup_10_registered);
BENCHMARK(BM_lookup_generated_registered);

int main(int argc, char** argv) {
    // The last generated engine: proves every registration made it in.
    const int last = bench::generated_count - 1;
    const auto start = clock_type::now();
    const auto answer = taskexec::executor("bench.gen_wf", "bench.gen", "g" + std::to_string(last), {});
    first_lookup_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    if (answer != last) return 1;
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
