// Registers bench::AddApart from a small file of its own: its invoke function
// is compiled here, where TASKEXEC_ENGINE names it, away from the benchmark
// loops of bench_dispatch.cpp (see the notes on target 3 in
// scripts/benchmark_notes.md). Not the engine of any target.
#include "bench_engines.hpp"

TASKEXEC_ENGINE(bench::AddApart);
