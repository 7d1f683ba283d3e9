#!/usr/bin/env bash
# The performance suite, end to end: builds the benchmarks with the `bench`
# preset (Release, 10,000 generated registrations), runs them, measures the
# compile-time target, and writes docs/benchmarks.md and docs/benchmarks.svg
# (the nine targets of the performance issue, measured against baselines in
# the same run, plus the machine and the commit).
#
#   ./scripts/run_benchmarks.sh            # full run, a few minutes
#   ./scripts/run_benchmarks.sh --quick    # short repetitions, for a try-out
#
# Figures are ratios; run it on a machine that is otherwise idle (`uptime`
# is recorded in the report so a loaded run can be recognised).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

repetitions=9
min_time=0.5
if [[ "${1:-}" == "--quick" ]]; then
    repetitions=2
    min_time=0.05
fi

scripts/install-deps.sh
# The report generator and the chart: installed on demand, only here.
extra=()
command -v python3 >/dev/null || extra+=(python3)
command -v gnuplot >/dev/null || extra+=(gnuplot-nox)
if ((${#extra[@]})); then
    sudo=()
    ((EUID == 0)) || sudo=(sudo)
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${extra[@]}"
fi

# The commit measured, recorded before building (the report names it).
TASKEXEC_BENCH_COMMIT="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    TASKEXEC_BENCH_COMMIT+=" (with uncommitted changes)"
fi
export TASKEXEC_BENCH_COMMIT

cmake --preset bench >/dev/null
cmake --build --preset bench --target bench_dispatch bench_run bench_registration bench_sqlite_snapshot

results=build/bench/results
rm -rf "$results"
mkdir -p "$results"
bench=build/bench/tests/benchmarks
common=(--benchmark_format=json --benchmark_repetitions="$repetitions" --benchmark_min_time="$min_time"
        --benchmark_enable_random_interleaving=true)

echo "== dispatch"
"$bench/bench_dispatch" "${common[@]}" --benchmark_out="$results/dispatch.json" >/dev/null
echo "== workflow runs"
"$bench/bench_run" "${common[@]}" --benchmark_out="$results/run.json" >/dev/null
echo "== registration at scale"
"$bench/bench_registration" --benchmark_format=json --benchmark_min_time="$min_time" \
    --benchmark_out="$results/registration.json" >/dev/null
echo "== sqlite snapshot (200 MB)"
"$bench/bench_sqlite_snapshot" --benchmark_format=json --benchmark_out="$results/sqlite.json" >/dev/null

echo "== compile time"
python3 scripts/benchmark_report.py compile-time \
    --compiler "${CXX:-c++}" --include include \
    --baseline tests/benchmarks/compile_time/baseline.cpp \
    --subject tests/benchmarks/compile_time/one_engine.cpp \
    --typed-subject tests/benchmarks/compile_time/typed_engine.cpp \
    --typed-control tests/benchmarks/compile_time/typed_control.cpp \
    --out "$results/compile_time.json"

echo "== report"
python3 scripts/benchmark_report.py report --results "$results" \
    --markdown docs/benchmarks.md --chart docs/benchmarks.svg
echo "wrote docs/benchmarks.md and docs/benchmarks.svg"
