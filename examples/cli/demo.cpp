// examples/cli/demo.cpp — `taskexec demo`: the sales workflow on a live
// SQLite database, and the evidence that its snapshot is consistent.
//
// A writer thread keeps committing transfers (constant total) and logs every
// committed sequence number with its time. The `sales` workflow quiesces,
// copies (throttled, so the hold is long enough to see) and unquiesces while
// it runs. Then the copy is checked: integrity_check, the total, and exactly
// the rows committed before the hold — no more (nothing landed during the
// hold), no fewer (nothing committed was missed).
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "file_copy.hpp"
#include "signals.hpp"
#include "snapshot_seal.hpp"
#include "sqlite_workload.hpp"

namespace taskexec_cli {
namespace {

namespace fs = std::filesystem;
namespace wl = taskexec_examples::workload;
using clock_type = std::chrono::steady_clock;

double ms(clock_type::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string fixed(double value, int digits = 1) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(digits) << value;
    return s.str();
}

/// When the hold began and when its release began, from the run's events.
struct HoldTimes {
    clock_type::time_point quiesced{};   // quiesce_db finished
    clock_type::time_point releasing{};  // unquiesce_db started (step or compensation)
};

fs::path demo_directory(const DemoFlags& flags) {
    if (flags.dir) {
        fs::create_directories(*flags.dir);
        return fs::absolute(*flags.dir);
    }
    std::string pattern = (fs::temp_directory_path() / "taskexec-demo-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("demo: cannot create a temporary directory");
    return pattern;
}

struct Check {
    std::string name;
    bool ok;
    std::string detail;
};

}  // namespace

int cmd_demo(const Output& out, const DemoFlags& flags) {
    const fs::path dir = demo_directory(flags);
    const fs::path db = dir / "sales.db";
    const fs::path snapshot = dir / "snapshot";
    if (fs::exists(db) || fs::exists(snapshot))
        return report_error(out, "usage",
                            "the demo directory already holds sales.db or snapshot/; give an "
                            "empty or new --dir",
                            exit_usage);

    const wl::Setup setup{flags.journal_mode, 100, 1000, 20000};
    wl::create_database(db.string(), setup);
    wl::Writer writer(db.string());
    // Let the writer get going, so the hold interrupts real traffic.
    for (int i = 0; i < 400 && writer.last_seq() < 50; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));

    const bool show_progress = flags.progress || stderr_is_terminal();
    if (show_progress)
        std::cerr << "taskexec demo: " << db.string() << " (" << flags.journal_mode
                  << "), writer at seq " << writer.last_seq() << "\n";

    CancelOnSignal cancel;
    HoldTimes times;
    taskexec::RunOptions options;
    options.stop = cancel.token();
    options.step_timeout = std::chrono::seconds(60);
    auto printer = progress_printer(show_progress);
    options.on_event = [&](const json& e) {
        const std::string event = e.value("event", std::string());
        const std::string task = e.value("task", std::string());
        if (event == "step_finished" && task == "quiesce_db") times.quiesced = clock_type::now();
        if ((event == "step_started" || event == "compensation_started") &&
            task == "unquiesce_db" && times.releasing == clock_type::time_point{})
            times.releasing = clock_type::now();
        if (printer) printer(e);
    };
    const json payload = {{"path", db.string()},
                          {"snapshot_dir", snapshot.string()},
                          {"max_hold_ms", 30000},
                          {"acquire_timeout_ms", 5000},
                          {"max_bytes_per_s", flags.copy_rate},
                          {"label", "taskexec-demo"}};
    const taskexec::RunReport report = taskexec::run_workflow("sales", "sqlite", payload, options);
    if (!report.ok) {
        writer.stop();
        std::cout << report.to_json().dump(2) << std::endl;
        return report_run_failure(out, report, cancel.signal());
    }

    // The copy: hashes first (inspecting opens it, so use a scratch copy).
    const json quiesce = report.steps[0].result;
    const json copied = report.steps[1].result;
    const json released = report.steps[2].result;
    // The SHA-256 of each copy is taken after the release (unquiesce_db's
    // `snapshot`), so the hold lasts only as long as the copy itself.
    const json sealed = released.value("snapshot", json::object());
    const json sealed_files = sealed.value("files", json::array());
    bool hashes_ok = !sealed_files.empty() && sealed_files.size() == copied["files"].size() &&
                     !std::filesystem::exists(snapshot / taskexec_examples::seal_marker_name) &&
                     std::filesystem::exists(snapshot / taskexec_examples::snapshot_manifest_name);
    for (std::size_t i = 0; hashes_ok && i < sealed_files.size(); ++i) {
        const json& f = sealed_files[i];
        hashes_ok = f["path"] == copied["files"][i]["path"] &&
                    f["size"] == copied["files"][i]["size"] &&
                    taskexec_examples::sha256_file(snapshot / f["path"].get<std::string>()) ==
                        f["sha256"];
    }
    const wl::Contents copy = wl::inspect_pristine((snapshot / "sales.db").string());

    // One commit after the release shows writes flow again.
    const auto resumed = writer.wait_for_commit_after(copy.max_seq, std::chrono::seconds(5));
    writer.stop();
    const std::vector<wl::Commit> log = writer.commits();
    std::int64_t before_release = 0;  // commits logged before unquiesce began
    for (const wl::Commit& c : log)
        if (c.at < times.releasing) ++before_release;
    bool prefix = true;
    for (std::size_t i = 0; i < copy.seqs.size(); ++i)
        prefix = prefix && copy.seqs[i] == static_cast<std::int64_t>(i + 1);

    const std::vector<Check> checks = {
        {"snapshot hashes", hashes_ok,
         "SHA-256 of every copied file, sealed after the release, matches the report"},
        {"integrity_check", copy.integrity == "ok",
         "PRAGMA integrity_check of the copy: " + copy.integrity},
        {"rows", prefix && copy.events == before_release,
         "rows in the copy " + std::to_string(copy.events) +
             ", rows committed before the release " + std::to_string(before_release) +
             (prefix ? " (seq 1.." + std::to_string(copy.max_seq) + ")" : " (GAPS)")},
        {"total", copy.total == wl::expected_total(setup),
         "SUM(bal) " + std::to_string(copy.total) + " of " +
             std::to_string(wl::expected_total(setup))},
        {"orders", copy.orders == setup.sample_orders,
         std::to_string(copy.orders) + " sample orders"},
        {"released", released.value("released_by", std::string()) == "explicit",
         "released_by " + released.value("released_by", std::string())},
        {"writes resume", resumed != clock_type::time_point{} && writer.error().empty(),
         resumed != clock_type::time_point{}
             ? "first commit " + fixed(ms(resumed - times.releasing)) + " ms after unquiesce began"
             : "no commit within 5 s after the release " + writer.error()},
    };
    bool all_ok = true;
    json check_json = json::array();
    for (const Check& c : checks) {
        all_ok = all_ok && c.ok;
        check_json.push_back({{"name", c.name}, {"ok", c.ok}, {"detail", c.detail}});
    }

    const json summary = {
        {"ok", all_ok},
        {"database", db.string()},
        {"journal_mode", quiesce.value("journal_mode", std::string())},
        {"snapshot_dir", copied["snapshot_dir"]},
        {"writer",
         {{"commits", log.size()},
          {"attempts", writer.attempts()},
          {"waited_attempts", writer.waited_attempts()},
          {"longest_wait_ms", ms(writer.longest_wait())}}},
        {"hold",
         {{"held_ms", released["held_ms"]},
          {"released_by", released["released_by"]},
          {"quiesce_ms", quiesce["elapsed_ms"]}}},
        {"snapshot",
         {{"files", sealed_files},
          {"total_bytes", copied["total_bytes"]},
          {"seal_ms", sealed.value("seal_ms", 0.0)}}},
        {"copy",
         {{"integrity_check", copy.integrity},
          {"events", copy.events},
          {"total", copy.total},
          {"orders", copy.orders}}},
        {"checks", check_json}};
    if (out.json) {
        std::cout << summary.dump(2) << std::endl;
    } else {
        std::cout << "taskexec demo: the `sales` workflow on SQLite with a live writer\n"
                  << "  database   " << db.string() << " (journal_mode "
                  << summary["journal_mode"].get<std::string>() << ")\n"
                  << "  snapshot   " << copied["snapshot_dir"].get<std::string>() << "\n"
                  << "writer\n  " << log.size() << " commits; " << writer.waited_attempts()
                  << " of " << writer.attempts()
                  << " attempts waited for the lock; writes were held up to "
                  << fixed(ms(writer.longest_wait())) << " ms\n"
                  << "hold\n  quiesced in " << fixed(quiesce["elapsed_ms"].get<double>())
                  << " ms, held " << fixed(released["held_ms"].get<double>()) << " ms, released "
                  << released["released_by"].get<std::string>() << "\n"
                  << "snapshot (" << copied["total_bytes"].get<std::uint64_t>() << " bytes)\n";
        for (const json& f : sealed_files)
            std::cout << "  " << std::left << std::setw(14) << f["path"].get<std::string>()
                      << std::right << std::setw(10) << f["size"].get<std::uint64_t>()
                      << "  sha256 " << f["sha256"].get<std::string>() << "\n";
        std::cout << "checks\n";
        for (const Check& c : checks)
            std::cout << "  [" << (c.ok ? "ok" : "FAILED") << "] " << c.name << ": " << c.detail
                      << "\n";
        std::cout << (all_ok ? "the snapshot is consistent\n" : "the snapshot is NOT consistent\n")
                  << std::flush;
    }
    if (all_ok) return exit_ok;
    return report_error(out, "check_failed", "demo: a consistency check failed (see the report)",
                        exit_failed);
}

}  // namespace taskexec_cli
