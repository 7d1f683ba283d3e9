// Registers the dispatch benchmarks' engine from a file of its own, as the
// examples do (examples/tasks/*.cpp): the engine's invoke function is
// compiled here, where TASKEXEC_ENGINE is, and not in the benchmark's large
// file (see the notes on target 3 in scripts/benchmark_notes.md).
#include "bench_engines.hpp"

TASKEXEC_ENGINE(bench::AddLocal);
TASKEXEC_WORKFLOW(bench::AddWf);
