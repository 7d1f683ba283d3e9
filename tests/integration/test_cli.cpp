// tests/integration/test_cli.cpp — the `taskexec` program as users run it:
// commands, exit codes, stdout/stderr discipline, --json errors, and SIGTERM
// during a run (the run is cancelled, its compensation releases the database,
// and the report says so).
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>

#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "taskexec_catch.hpp"
#include "workload.hpp"

extern char** environ;

namespace {

using taskexec::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct Result {
    int exit = -1;
    std::string out, err;
};

std::string slurp(const std::filesystem::path& file) {
    std::ifstream in(file);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A started `taskexec` with stdout/stderr in files of `dir`.
class Cli {
public:
    Cli(const std::filesystem::path& dir, const std::vector<std::string>& args,
        const std::string& stdin_text = "")
        : out_(dir / "stdout"), err_(dir / "stderr") {
        const auto in = dir / "stdin";
        std::ofstream(in) << stdin_text;
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        std::vector<std::string> argv = {TASKEXEC_CLI_PATH};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char*> raw;
        for (std::string& a : argv) raw.push_back(a.data());
        raw.push_back(nullptr);
        const int rc = posix_spawn(&pid_, raw[0], &actions, nullptr, raw.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        if (rc != 0) throw std::runtime_error("posix_spawn failed");
    }
    ~Cli() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }
    Result wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        Result r;
        r.exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        r.out = slurp(out_);
        r.err = slurp(err_);
        return r;
    }

private:
    pid_t pid_ = -1;
    std::filesystem::path out_, err_;
};

Result run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
    taskexec_it::TempDir dir("cli");
    return Cli(dir.path(), args, stdin_text).wait();
}

bool one_line(const std::string& text) {
    return !text.empty() && text.find('\n') == text.size() - 1;
}

}  // namespace

TEST_CASE("cli: list and describe", "[cli][integration]") {
    const Result text = run_cli({"list"});
    CHECK(text.exit == 0);
    CHECK(text.out.find("sales: quiesce_db -> snapshot_files -> unquiesce_db") !=
          std::string::npos);
    CHECK(text.err.empty());

    const Result list = run_cli({"list", "--json"});
    REQUIRE(list.exit == 0);
    const json l = json::parse(list.out);
    REQUIRE(l["workflows"].size() >= 1);
    CHECK(l["workflows"][0]["name"] == "sales");
    bool sqlite_complete = false;
    for (const json& e : l["workflows"][0]["complete_engines"]) sqlite_complete |= e == "sqlite";
    CHECK(sqlite_complete);

    const Result d = run_cli({"describe", "snapshot_files"});
    REQUIRE(d.exit == 0);
    const json task = json::parse(d.out);
    CHECK(task["name"] == "snapshot_files");
    CHECK(task["engines"][0]["name"] == "*");
    CHECK(task["workflows"] == json::array({"sales"}));

    const Result unknown = run_cli({"describe", "snapshot_file"});
    CHECK(unknown.exit == 3);
    CHECK(unknown.out.empty());
    CHECK(one_line(unknown.err));
    CHECK(unknown.err.find("did you mean 'snapshot_files'") != std::string::npos);
}

TEST_CASE("cli: run and run-workflow on sqlite", "[cli][integration]") {
    taskexec_it::SqliteDb db("wal");
    const json payload = {{"path", db.path()}, {"snapshot_dir", db.snapshot_dir()}};

    const Result q = run_cli({"run", "sales", "quiesce_db", "sqlite", "--payload", payload.dump()});
    REQUIRE(q.exit == 0);
    CHECK(json::parse(q.out)["lease_id"].get<std::string>().size() == 32);
    // The lease ended with the process (normal exit releases it).
    CHECK(taskexec_it::write_lock_free(db.path()));

    const auto file = db.dir() / "payload.json";
    std::ofstream(file) << payload.dump();
    const Result wf =
        run_cli({"run-workflow", "sales", "sqlite", "--payload", "@" + file.string()});
    REQUIRE(wf.exit == 0);
    const json report = json::parse(wf.out);
    CHECK(report["ok"] == true);
    CHECK(report["steps"][2]["result"]["released_by"] == "explicit");
    CHECK(wf.err.empty());  // stderr is not a terminal: no progress

    const json again = {{"path", db.path()}, {"snapshot_dir", db.snapshot_dir() + "2"}};
    const Result from_stdin =
        run_cli({"run-workflow", "sales", "sqlite", "--payload", "-", "--progress"}, again.dump());
    CHECK(from_stdin.exit == 0);
    CHECK(from_stdin.err.find("step_finished snapshot_files") != std::string::npos);
}

TEST_CASE("cli: exit codes and error lines", "[cli][integration]") {
    const std::string secret = "cli-s3ntinel-77c1";
    struct Case {
        std::vector<std::string> args;
        int exit;
        std::string code;
    };
    const std::vector<Case> cases = {
        {{"run", "sales", "quiesce_db"}, 2, "usage"},
        {{"run", "sales", "quiesce_db", "sqlite", secret}, 2, "usage"},
        {{"frobnicate"}, 2, "usage"},
        {{"run", "salez", "quiesce_db", "sqlite"}, 3, "unknown_workflow"},
        {{"run", "sales", "quiesce", "sqlite"}, 3, "task_not_in_workflow"},
        {{"run", "sales", "quiesce_db", "oracle"}, 3, "unknown_engine"},
        {{"run-workflow", "sales", "oracle"}, 3, "unknown_engine"},
        {{"run", "sales", "quiesce_db", "sqlite", "--payload", "{\"path\": " + secret},
         4,
         "invalid_payload"},
        {{"run", "sales", "quiesce_db", "sqlite", "--payload",
          "{\"max_hold_ms\": \"" + secret + "\"}"},
         4,
         "invalid_payload"},
        {{"run-workflow", "sales", "sqlite", "--payload", "[1]"}, 4, "invalid_payload"},
        {{"run", "sales", "quiesce_db", "sqlite", "--payload",
          "{\"path\": \"/nonexistent/" + secret + "\"}"},
         5,
         "task_failed"},
        {{"run-workflow", "sales", "sqlite", "--payload",
          "{\"path\": \"/nonexistent/" + secret + "\"}"},
         5,
         "task_failed"},
        {{"--plugins", "/nonexistent-plugin-dir", "list"}, 6, "plugin_load_failed"},
    };
    for (const Case& c : cases) {
        for (const bool as_json : {false, true}) {
            std::vector<std::string> args = c.args;
            if (as_json) args.insert(args.begin(), "--json");
            const Result r = run_cli(args);
            INFO("args: " << json(args).dump() << "\nstderr: " << r.err);
            CHECK(r.exit == c.exit);
            CHECK(one_line(r.err));
            CHECK(r.err.find(secret) == std::string::npos);
            CHECK(r.out.find(secret) == std::string::npos);
            if (as_json) {
                const json e = json::parse(r.err);
                CHECK(e["code"] == c.code);
                CHECK(e["message"].is_string());
            } else {
                CHECK(r.err.rfind("taskexec: " + c.code + ":", 0) == 0);
            }
        }
    }
}

TEST_CASE("cli: the demo passes its own checks", "[cli][integration]") {
    taskexec_it::TempDir dir("demo");
    const Result r = run_cli({"--json", "demo", "--dir", (dir.path() / "d").string()});
    INFO(r.out << r.err);
    REQUIRE(r.exit == 0);
    const json report = json::parse(r.out);
    CHECK(report["ok"] == true);
    CHECK(report["copy"]["integrity_check"] == "ok");
    CHECK(report["writer"]["waited_attempts"].get<int>() >= 1);
}

TEST_CASE("cli: SIGTERM during a run cancels it and releases the database before exit",
          "[cli][integration]") {
    taskexec_it::SqliteDb db("delete");
    {
        // ~8 MB of incompressible rows: at 1 MB/s the copy would take ~8 s.
        taskexec_examples::sqlite::Connection c =
            taskexec_examples::sqlite::open(db.path(), SQLITE_OPEN_READWRITE);
        taskexec_examples::sqlite::exec(
            c.get(),
            "CREATE TABLE blob(b); INSERT INTO blob SELECT randomblob(1000000) FROM "
            "(SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL "
            "SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8)");
    }
    const json payload = {
        {"path", db.path()}, {"snapshot_dir", db.snapshot_dir()}, {"max_bytes_per_s", 1000000}};
    taskexec_it::TempDir io("cli-term");
    Cli cli(io.path(), {"run-workflow", "sales", "sqlite", "--payload", payload.dump()});
    // Wait until the database is held (the copy is under way).
    const auto until = clock_type::now() + 10s;
    while (taskexec_it::write_lock_free(db.path()) && clock_type::now() < until)
        std::this_thread::sleep_for(10ms);
    REQUIRE_FALSE(taskexec_it::write_lock_free(db.path()));
    std::this_thread::sleep_for(300ms);
    const auto sent = clock_type::now();
    REQUIRE(::kill(cli.pid(), SIGTERM) == 0);
    const Result r = cli.wait();
    const double took = std::chrono::duration<double>(clock_type::now() - sent).count();
    // Writable the moment the process is gone (no stale lock, no watchdog wait).
    CHECK(taskexec_it::write_lock_free(db.path()));
    INFO(r.out << r.err);
    CHECK(took < 5.0);  // cancelled, not run to the end of the 8 s copy
    CHECK(r.exit == 5);
    CHECK(r.err.find("SIGTERM") != std::string::npos);
    const json report = json::parse(r.out);
    CHECK(report["ok"] == false);
    CHECK(report["steps"][1]["status"] == "cancelled");
    REQUIRE(report["compensations"].size() == 1);
    // The compensation ran inside the process and released explicitly.
    CHECK(report["compensations"][0]["status"] == "ok");
    CHECK(report["compensations"][0]["result"]["released_by"] == "explicit");
    // A cancelled copy leaves no partial snapshot behind — nor the
    // snapshot_dir it made.
    CHECK_FALSE(std::filesystem::exists(db.snapshot_dir()));
}
