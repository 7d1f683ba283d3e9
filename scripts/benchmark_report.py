#!/usr/bin/env python3
"""Turns the benchmark results of scripts/run_benchmarks.sh into
docs/benchmarks.md (the performance targets with measured figures) and a
chart, and measures the compile-time target.

    benchmark_report.py compile-time --compiler g++ --include include \
        --baseline A.cpp --subject B.cpp --out compile_time.json
    benchmark_report.py report --results DIR --markdown OUT.md --chart OUT.svg

Every figure is a ratio against a baseline measured in the same run (same
binary, or same compiler invocation), never an absolute time: the machines
are shared and noisy, ratios travel.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile


# ---------------------------------------------------------------- compile time

def compile_seconds(compiler, include, source):
    """CPU seconds (user + sys) of one compile of `source` to an object."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([compiler, "-std=c++20", "-O2", "-I", include, "-c", source,
                        "-o", os.path.join(tmp, "out.o")], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compile_time(args):
    # Interleaved runs, minimum of each: the least disturbed sample of each.
    sources = {"baseline": args.baseline, "subject": args.subject}
    if args.typed_subject and args.typed_control:
        sources["typed_subject"] = args.typed_subject
        sources["typed_control"] = args.typed_control
    samples = {name: [] for name in sources}
    for _ in range(args.runs):
        for name, source in sources.items():
            samples[name].append(compile_seconds(args.compiler, args.include, source))
    version = subprocess.run([args.compiler, "--version"], capture_output=True, text=True).stdout
    best = {name: min(values) for name, values in samples.items()}
    result = {
        "compiler": version.splitlines()[0] if version else args.compiler,
        "runs": args.runs,
        "baseline_s": best["baseline"],
        "subject_s": best["subject"],
        "ratio": best["subject"] / best["baseline"],
    }
    if "typed_subject" in best:
        result["typed"] = {
            "subject_s": best["typed_subject"],
            "control_s": best["typed_control"],
            "ratio_to_baseline": best["typed_subject"] / best["baseline"],
            "control_ratio_to_baseline": best["typed_control"] / best["baseline"],
        }
    with open(args.out, "w") as out:
        json.dump(result, out, indent=2)
    print(f"compile time: {result['subject_s']:.2f} s vs {result['baseline_s']:.2f} s "
          f"= {result['ratio']:.2f}x")
    if "typed" in result:
        t = result["typed"]
        print(f"  typed engine {t['subject_s']:.2f} s = {t['ratio_to_baseline']:.2f}x; "
              f"its conversions alone {t['control_s']:.2f} s = "
              f"{t['control_ratio_to_baseline']:.2f}x")


# ---------------------------------------------------------------- results

def load(path):
    with open(path) as f:
        return json.load(f)


def to_ns(entry, key="real_time"):
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[entry.get("time_unit", "ns")]
    return entry[key] * scale


def pick(results, name, aggregate="median"):
    """The entry named `name`: its median aggregate when repeated, or with
    aggregate=None its first repetition (whose `iterations` are real)."""
    plain = None
    for e in results["benchmarks"]:
        if e.get("run_name", e["name"]) != name and e["name"] != name:
            continue
        if e.get("run_type") == "aggregate":
            if aggregate is not None and e.get("aggregate_name") == aggregate:
                return e
        elif plain is None:
            plain = e
    if plain is None:
        raise KeyError(f"benchmark {name!r} not in results")
    return plain


def repetitions(results, name):
    """Every repetition of `name` that ran (no aggregates, no errored runs)."""
    return [e for e in results["benchmarks"]
            if e.get("run_type", "iteration") == "iteration"
            and not e.get("error_occurred")
            and (e.get("run_name", e["name"]) == name or e["name"] == name)]


def required_repetitions(results, name):
    """repetitions(), raising if there are none (no silent fallback to
    another statistic)."""
    runs = repetitions(results, name)
    if not runs:
        raise KeyError(f"no repetitions of benchmark {name!r} in results")
    return runs


def fastest(results, name, key="cpu_time"):
    """The least disturbed repetition of `name`, in ns: on a shared machine
    other tenants only ever add time, so the minimum over repetitions is the
    best estimate of the cost itself (the compile-time figures use the same
    rule). Falls back to the median aggregate when there are no repetitions."""
    runs = repetitions(results, name)
    if not runs:
        return to_ns(pick(results, name), key)
    return min(to_ns(e, key) for e in runs)


def throughputs(results, name):
    """Items per second of every repetition of `name`."""
    return [e["items_per_second"] for e in required_repetitions(results, name)]


def median_time(results, name, key="cpu_time"):
    """The median repetition of `name`, in ns (shown beside the fastest)."""
    return statistics.median(to_ns(e, key) for e in required_repetitions(results, name))


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load_avg = os.getloadavg()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "load": f"{load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}",
    }


def commit():
    """The commit the figures were measured at: run_benchmarks.sh records it
    (TASKEXEC_BENCH_COMMIT) before building, so a report regenerated later
    still names the code that ran; else the checkout's HEAD now."""
    recorded = os.environ.get("TASKEXEC_BENCH_COMMIT")
    if recorded:
        return recorded

    def git(*a):
        return subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()
    sha = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return sha + (" (with uncommitted changes)" if dirty else "")


def report(args):
    r = args.results
    dispatch = load(os.path.join(r, "dispatch.json"))
    run = load(os.path.join(r, "run.json"))
    registration = load(os.path.join(r, "registration.json"))
    sqlite = load(os.path.join(r, "sqlite.json"))
    compile_ = load(os.path.join(r, "compile_time.json"))

    # CPU time per call: the thread-count-independent cost of one dispatch,
    # fastest repetition of each (see fastest()).
    direct = fastest(dispatch, "BM_direct_execute")
    executor = fastest(dispatch, "BM_executor")
    route = fastest(dispatch, "BM_route")
    naive = fastest(dispatch, "BM_unordered_map_function")
    not_inlined = fastest(dispatch, "BM_direct_call_not_inlined")
    route_apart = fastest(dispatch, "BM_route_registered_apart")
    route_median_ratio = median_time(dispatch, "BM_route") / median_time(dispatch, "BM_direct_execute")
    # The counter divides every allocation the benchmark's thread made while
    # the loop ran by the calls made; Google Benchmark itself allocates a
    # handful of times per run (loop set-up and tear-down). So: allocations
    # per call, and the total, which must not grow with the number of calls.
    alloc_entries = [pick(dispatch, "BM_executor", aggregate=None),
                     pick(dispatch, "BM_route", aggregate=None)]
    allocs = max(e["allocs_per_call"] for e in alloc_entries)
    alloc_total = max(e["allocs_per_call"] * e["iterations"] for e in alloc_entries)
    alloc_calls = min(e["iterations"] for e in alloc_entries)
    # Throughput: each thread count's best repetition, as for the times
    # (other tenants only take throughput away); the medians are shown too.
    rates1 = throughputs(dispatch, "BM_executor_threads/real_time/threads:1")
    rates2 = throughputs(dispatch, "BM_executor_threads/real_time/threads:2")
    t1, t2 = max(rates1), max(rates2)
    median_scaling = statistics.median(rates2) / statistics.median(rates1)

    three = fastest(run, "BM_three_executor_calls")
    workflow = fastest(run, "BM_run_workflow_three_steps")
    per_step = (workflow - three) / 3

    load_entry = pick(registration, "BM_register_generated_at_load/iterations:1/manual_time")
    load_ms = to_ns(load_entry) / 1e6
    engines = int(load_entry.get("engines", 0))
    first_ms = to_ns(pick(registration, "BM_first_lookup_after_load/iterations:1/manual_time")) / 1e6
    few = fastest(registration, "BM_lookup_10_registered")
    many = fastest(registration, "BM_lookup_generated_registered")

    sq = sqlite["benchmarks"][0]
    sq_base = sq["baseline_blocked_ms"]
    sq_flow = sq["workflow_blocked_ms"]
    sq_mb = sq.get("db_mb", 0)
    sq_copy = sq.get("snapshot_files_ms", 0)

    rows = [
        ("1", "`executor()` by names vs the floor (direct `execute`)", "<= 1.5x",
         f"{executor:.1f} ns vs {direct:.1f} ns = **{executor / direct:.2f}x**",
         executor / direct <= 1.5),
        ("2", "`executor()` vs `unordered_map<string, function>` keyed per call", "faster",
         f"{executor:.1f} ns vs {naive:.1f} ns = **{naive / executor:.2f}x faster**",
         executor < naive),
        ("3", "`Route` call vs the floor", "<= 1.1x",
         f"{route:.1f} ns vs {direct:.1f} ns = **{route / direct:.2f}x** (fastest "
         f"repetitions; medians: {route_median_ratio:.2f}x)", route / direct <= 1.1),
        ("4", "heap allocations per `executor()` / `Route` call", "0",
         f"**{round(allocs)}** ({alloc_total:.0f} in all over {alloc_calls:,.0f} calls: "
         "the benchmark loop's own set-up)", alloc_total < 100),
        ("5", "throughput, 2 threads vs 1", ">= 1.8x",
         f"{t2 / 1e6:.2f} M/s vs {t1 / 1e6:.2f} M/s = **{t2 / t1:.2f}x** (best of "
         f"{min(len(rates1), len(rates2))} repetitions each; medians: {median_scaling:.2f}x)",
         t2 / t1 >= 1.8),
        ("6", f"registering {engines:,} engines at load; lookup with {engines:,} vs 10",
         "<= 5 ms; <= 1.2x",
         f"**{load_ms:.2f} ms** (first lookup builds the index: {first_ms:.2f} ms); "
         f"{many:.1f} ns vs {few:.1f} ns = **{many / few:.2f}x**",
         load_ms <= 5 and many / few <= 1.2),
        ("7", "compile time: one engine defined and registered vs json + fmt only", "<= 1.25x",
         f"{compile_['subject_s']:.2f} s vs {compile_['baseline_s']:.2f} s = "
         f"**{compile_['ratio']:.2f}x**", compile_["ratio"] <= 1.25),
        ("8", "`run_workflow` of 3 trivial steps vs 3 `executor()` calls", "<= 1 µs per step",
         f"{workflow:.0f} ns vs {three:.0f} ns = **{per_step:.0f} ns per step**",
         per_step <= 1000),
        ("9", f"SQLite `sales` on a {sq_mb:.0f} MB database: writers blocked vs a plain copy",
         "<= 1.1x + 10 ms",
         f"{sq_flow:.1f} ms vs {sq_base:.1f} ms = **{sq_flow / sq_base:.2f}x** "
         f"(`snapshot_files` alone: {sq_copy:.0f} ms)",
         sq_flow <= 1.1 * sq_base + 10),
    ]

    m = machine()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Produced by `./scripts/run_benchmarks.sh` — do not edit by hand. Every",
        "figure is a ratio against a baseline measured in the same run; see",
        "`tests/benchmarks/` for what each benchmark does and",
        "[the design notes](#how-the-targets-are-met) below for why the figures are what they are.",
        "",
        f"- Commit: `{commit()}`",
        f"- Date: {now}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}; "
        f"load average at the end of the run: {m['load']}",
        f"- Compiler: {compile_['compiler']}; the benchmarks are built by the `bench` "
        f"preset (CMake `Release`: -O3 -DNDEBUG)",
        f"- Google Benchmark: {dispatch.get('context', {}).get('library_build_type', 'unknown')} "
        f"build of the library (Debian's package); it only runs the timing loop, "
        f"the same for every variant",
        "",
        "| # | measure | target | measured | held |",
        "|---|---|---|---|---|",
    ]
    for number, measure, target, measured, held in rows:
        lines.append(f"| {number} | {measure} | {target} | {measured} | "
                     f"{'yes' if held else '**no**'} |")
    lines += [
        "",
        f"Beside target 3, not targets: the same engine body registered from a small "
        f"file of its own (`BM_route_registered_apart`, see the notes on target 3): "
        f"{route_apart:.1f} ns = **{route_apart / direct:.2f}x** the floor; and the "
        f"floor's `execute` behind a direct call the compiler may not inline "
        f"(`BM_direct_call_not_inlined`): {not_inlined:.1f} ns = "
        f"{not_inlined / direct:.2f}x the floor.",
    ]
    if "typed" in compile_:
        t = compile_["typed"]
        lines += [
            "",
            f"Target 7 with a typed Payload and Result (`compile_time/typed_engine.cpp`): "
            f"{t['subject_s']:.2f} s = {t['ratio_to_baseline']:.2f}x the baseline, of which "
            f"{t['control_ratio_to_baseline']:.2f}x is nlohmann converting those types "
            f"without taskexec (`compile_time/typed_control.cpp`): taskexec's share is "
            f"{t['subject_s'] / t['control_s']:.2f}x of the user's own code.",
        ]
    lines += [
        "",
        f"![dispatch cost per variant]({os.path.basename(args.chart)})",
        "",
    ]
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmark_notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines.append(f.read().rstrip())
            lines.append("")
    with open(args.markdown, "w") as out:
        out.write("\n".join(lines))

    chart([("direct execute\n(floor)", direct), ("Route", route), ("executor()", executor),
           ("unordered_map +\nstd::function", naive), ("run_workflow\nper step", workflow / 3)],
          args.chart)
    missed = [n for n, *_rest, held in rows if not held]
    print("targets missed: " + (", ".join(missed) if missed else "none"))


def chart(bars, path):
    """A bar chart of CPU nanoseconds per call, with gnuplot."""
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        with open(data, "w") as f:
            for label, ns in bars:
                f.write('"{}" {:.2f}\n'.format(label.replace("\n", "\\n"), ns))
        script = f"""
set terminal svg size 760,420 dynamic font "sans,12"
set output "{path}"
set title "Dispatch cost per call (CPU ns, fastest of the repetitions; lower is better)"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.7
set ylabel "ns per call"
set yrange [0:*]
set grid ytics
unset key
plot "{data}" using 2:xtic(1) lc rgb "#4477aa", \\
     "" using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ct = sub.add_parser("compile-time")
    ct.add_argument("--compiler", required=True)
    ct.add_argument("--typed-subject", help="an engine with typed Payload/Result (reported, no target)")
    ct.add_argument("--typed-control", help="the same conversions without taskexec")
    ct.add_argument("--include", required=True)
    ct.add_argument("--baseline", required=True)
    ct.add_argument("--subject", required=True)
    ct.add_argument("--runs", type=int, default=7)
    ct.add_argument("--out", required=True)
    rp = sub.add_parser("report")
    rp.add_argument("--results", required=True)
    rp.add_argument("--markdown", required=True)
    rp.add_argument("--chart", required=True)
    args = parser.parse_args()
    if args.command == "compile-time":
        compile_time(args)
    else:
        report(args)


if __name__ == "__main__":
    sys.exit(main())
