// tests/integration/test_redis_plugin.cpp — the redis engine of
// examples/plugins (libtaskexec_redis.so, hidden visibility), loaded at run
// time — this program does not link it — against a throwaway redis-server:
// random loopback port and a unix socket, AOF on, no RDB save points, a
// sentinel password set over a connection (never on a command line). Every
// test ends with require_writable(), so none can hide a server left paused.
// The server and client helpers are in redis_test_server.hpp.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <taskexec/plugin.hpp>
#include <taskexec/run.hpp>
#include <taskexec/taskexec.hpp>

#include "engine_checks.hpp"
#include "file_copy.hpp"
#include "process.hpp"
#include "redis_test_server.hpp"
#include "run_checks.hpp"
#include "servers.hpp"
#include "snapshot_seal.hpp"
#include "sql_workload.hpp"
#include "taskexec_catch.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using taskexec::json;
using taskexec_examples::db_error_kind;
using namespace taskexec_it;
using clock_type = std::chrono::steady_clock;

struct Fixture {
    RedisServer server;
    Sentinel password{"TASKEXEC_IT_REDIS_PASSWORD"};

    // Over the connection, so the sentinel is in no process's argv.
    Fixture() {
        RedisClient(server.port()).cmd({"CONFIG", "SET", "requirepass", password.value()});
    }

    RedisClient client() const { return RedisClient(server.port(), password.value()); }
    json payload(const json& extra = json::object()) const {
        return with({{"host", "127.0.0.1"},
                     {"port", server.port()},
                     {"password_env", password.variable()},
                     {"label", "taskexec-it"},
                     {"acquire_timeout_ms", 5000}},
                    extra);
    }

    /// Writes land at once and the holder connection (named by the label)
    /// is gone: nothing is left paused or held.
    void require_writable() const {
        RedisClient c = client();
        const auto start = clock_type::now();
        REQUIRE(c.cmd({"SET", "probe", "1"}) == "OK");
        CHECK(clock_type::now() - start < 500ms);
        const auto held = [&] {
            return c.cmd({"CLIENT", "LIST"}).find("name=taskexec-it ") != std::string::npos;
        };
        for (int i = 0; i < 50 && held(); ++i) std::this_thread::sleep_for(20ms);
        REQUIRE_FALSE(held());
    }
};

/// The one load of this process (so newly_loaded is true exactly here).
const taskexec::PluginReport& plugin() {
    static const taskexec::PluginReport report = taskexec::load_plugin(TASKEXEC_REDIS_PLUGIN_PATH);
    return report;
}

/// The server, with the plugin loaded (tests may run in any order).
Fixture& fixture() {
    plugin();
    static Fixture f;  // stopped at exit, after the lease library's exit hook ran
    return f;
}

json quiesce(const json& payload) {
    return taskexec::executor("sales", "quiesce_db", "redis", payload);
}
json unquiesce(const json& lease_id) {
    return taskexec::executor("sales", "unquiesce_db", "redis", {{"lease_id", lease_id}});
}

bool contains(const json& list, const std::string& name) {
    return std::find(list.begin(), list.end(), json(name)) != list.end();
}

/// Runs the `taskexec` program to completion with the support library's
/// fixed environment plus `env`; its exit code and output (stdout and
/// stderr; on success stderr is empty, so the output parses as JSON).
std::pair<int, std::string> run_cli(const std::vector<std::string>& args,
                                    const std::vector<std::string>& env = {}) {
    TempDir dir("redis-cli");
    std::vector<std::string> argv = {TASKEXEC_CLI_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    Process p = Process::spawn(argv, dir / "output", env);
    const std::optional<int> rc = p.wait_for(60s);
    return {rc.value_or(-1), tail_of(dir / "output", 1 << 20)};
}

/// The engines `taskexec list --json` shows for `task`.
json listed_engines(const json& list, const std::string& task) {
    for (const json& t : list.at("tasks"))
        if (t.at("name") == task) return t.at("engines");
    return json::array();
}

}  // namespace

TEST_CASE("redis plugin: load_plugin adds exactly the two redis engines", "[redis]") {
    const taskexec::PluginReport& r = plugin();
    CHECK(r.newly_loaded);
    CHECK(r.engines == std::vector<std::string>{"quiesce_db/redis", "unquiesce_db/redis"});
    CHECK(r.tasks.empty());  // the program registers the same task classes: repeats
    CHECK(r.workflows.empty());
    const json d = taskexec::describe();
    CHECK(d["conflicts"].empty());
    for (const json& t : d["tasks"])
        for (const json& e : t["engines"])
            if (e["name"] == "redis") CHECK(e["origin"] == r.path.string());
    for (const json& w : d["workflows"])
        if (w["name"] == "sales") CHECK(contains(w["complete_engines"], "redis"));
    const taskexec::PluginReport again = taskexec::load_plugin(TASKEXEC_REDIS_PLUGIN_PATH);
    CHECK_FALSE(again.newly_loaded);
    CHECK(again.engines.empty());
}

TEST_CASE("redis: writes wait during the hold, reads do not; the copy restores the dataset",
          "[redis]") {
    Fixture& f = fixture();
    RedisClient c = f.client();
    c.cmd({"FLUSHALL"});
    for (int i = 0; i < 50; ++i)
        c.cmd({"SET", "key:" + std::to_string(i), "val:" + std::to_string(i)});

    const json q = quiesce(f.payload());
    CHECK(q.at("engine") == "redis");
    CHECK(q.at("lease_id").get<std::string>().size() == 32);
    // The server's backstop: beyond the rest of the acquisition and the lease.
    CHECK(q.at("pause_ms").get<std::int64_t>() > 60000 + 2000);
    CHECK(q.at("pause_ms").get<std::int64_t>() <= 60000 + 2000 + 5000);
    CHECK(fs::equivalent(q.at("source_dir").get<std::string>(), f.server.data_dir()));
    CHECK(contains(q.at("files_to_copy"), "appendonlydir"));
    CHECK(q.at("consistency").at("aof_enabled") == true);

    RedisClient writer = f.client();
    clock_type::time_point landed_at;
    Pending write([&] {
        writer.cmd({"SET", "during", "landed"});
        landed_at = clock_type::now();
    });
    CHECK_FALSE(write.done_within(400ms));
    const auto read_start = clock_type::now();
    CHECK(c.cmd({"GET", "key:7"}) == "val:7");
    CHECK(clock_type::now() - read_start < 300ms);

    TempDir snap("redis-snap");
    const fs::path copy = snap / "copy";
    const json s = taskexec::executor("sales", "snapshot_files", "redis",
                                      with(q, {{"snapshot_dir", copy.string()}}));
    CHECK(s.at("total_bytes").get<std::int64_t>() > 0);
    CHECK_FALSE(write.done_within(0ms));  // still waiting after the copy

    const auto released_at = clock_type::now();
    // The plugin's unquiesce_db seals the copy the host's snapshot_files made
    // (the marker file connects them; the plugin has its own inline copies).
    CHECK(s.at("sealed") == false);
    const json u = taskexec::executor("sales", "unquiesce_db", "redis",
                                      with(s, {{"lease_id", q.at("lease_id")}}));
    CHECK(u.at("released_by") == "explicit");
    CHECK(u.at("unpaused_via") == "holder");
    REQUIRE(u.contains("snapshot"));
    CHECK(u.at("snapshot").at("files").size() == s.at("files").size());
    for (const json& file : u.at("snapshot").at("files"))
        CHECK(taskexec_examples::sha256_file(copy / file.at("path").get<std::string>()) ==
              file.at("sha256").get<std::string>());
    CHECK_FALSE(fs::exists(copy / taskexec_examples::seal_marker_name));
    CHECK(fs::exists(copy / taskexec_examples::snapshot_manifest_name));
    CHECK(u.at("held_ms").get<double>() >= 400);
    REQUIRE(write.done_within(2s));
    write.get();
    CHECK(landed_at >= released_at);
    CHECK(c.cmd({"GET", "during"}) == "landed");

    // A server started on the copy has every key from before the quiesce
    // and none written during it.
    RedisServer restored(copy);
    RedisClient r(restored.port());
    CHECK(r.cmd({"DBSIZE"}) == "50");
    CHECK(r.cmd({"GET", "key:49"}) == "val:49");
    CHECK(r.cmd({"EXISTS", "during"}) == "0");
    f.require_writable();
}

TEST_CASE("redis: the watchdog unpauses at max_hold_ms; unquiesce then reports hold_expired",
          "[redis]") {
    Fixture& f = fixture();
    const auto start = clock_type::now();
    const json q = quiesce(f.payload({{"max_hold_ms", 700}}));
    RedisClient writer = f.client();
    clock_type::time_point landed_at;
    Pending write([&] {
        writer.cmd({"SET", "watchdog", "landed"});
        landed_at = clock_type::now();
    });
    CHECK_FALSE(write.done_within(350ms));
    REQUIRE(write.done_within(5s));
    write.get();
    CHECK(landed_at - start >= 650ms);  // not before max_hold_ms
    CHECK(landed_at - start < 2000ms);  // our watchdog, not the server's backstop (2700 ms)
    CHECK(f.client().cmd({"GET", "watchdog"}) == "landed");
    for (int i = 0; i < 2; ++i) {  // every time, not just the first
        const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::hold_expired);
        CHECK(std::string(err->what()).find("watchdog") != std::string::npos);
    }
    f.require_writable();
}

TEST_CASE("redis: unquiesce twice is safe; unknown and missing lease ids; one lease per server",
          "[redis]") {
    Fixture& f = fixture();
    // Over the unix socket this time.
    json payload = f.payload({{"socket", f.server.socket().string()}});
    payload.erase("host");
    const json q = quiesce(payload);
    const auto second = db_error_of([&] { quiesce(payload); });
    REQUIRE(second);
    CHECK(second->kind() == db_error_kind::already_quiesced);
    RedisClient writer = f.client();
    Pending write([&] { writer.cmd({"SET", "twice", "1"}); });
    CHECK_FALSE(write.done_within(300ms));  // the refused second quiesce left the first in force

    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "explicit");
    REQUIRE(write.done_within(2s));
    const json again = unquiesce(q.at("lease_id"));
    CHECK(again.at("released_by") == "already_released");
    CHECK_FALSE(again.contains("unpaused_via"));  // nothing was sent to the server again
    const auto unknown = db_error_of([&] { unquiesce("0123456789abcdef0123456789abcdef"); });
    REQUIRE(unknown);
    CHECK(unknown->kind() == db_error_kind::not_quiesced);
    CHECK(unquiesce("").at("released_by") == "none");
    f.require_writable();
}

TEST_CASE("redis: a killed holder connection does not end the pause; unquiesce reconnects",
          "[redis]") {
    Fixture& f = fixture();
    const json q = quiesce(f.payload());
    f.client().cmd({"CLIENT", "KILL", "ID", std::to_string(q.at("client_id").get<long long>())});
    RedisClient writer = f.client();
    Pending write([&] { writer.cmd({"SET", "killed", "1"}); });
    CHECK_FALSE(write.done_within(400ms));  // the pause is the server's, not the connection's
    const json u = unquiesce(q.at("lease_id"));
    CHECK(u.at("released_by") == "explicit");
    CHECK(u.at("unpaused_via") == "reconnect");
    CHECK(write.done_within(2s));
    f.require_writable();
}

TEST_CASE("redis: a running BGSAVE holds quiesce up to acquire_timeout_ms, then writes resume",
          "[redis]") {
    Fixture& f = fixture();
    RedisClient c = f.client();
    c.cmd({"FLUSHALL"});
    for (int i = 0; i < 12; ++i) c.cmd({"SET", "slow:" + std::to_string(i), "x"});
    // Redis' own test knob: the BGSAVE child sleeps 300 ms per key (3.6 s).
    c.cmd({"CONFIG", "SET", "rdb-key-save-delay", "300000"});
    c.cmd({"BGSAVE"});
    const auto start = clock_type::now();
    const auto err = db_error_of([&] { quiesce(f.payload({{"acquire_timeout_ms", 300}})); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::acquire_timeout);
    CHECK(err->where().step == "wait_saves");
    CHECK_FALSE(err->may_be_frozen());
    CHECK(clock_type::now() - start >= 250ms);
    f.require_writable();  // the failed quiesce lifted its pause

    // This quiesce waits ~3 s for the BGSAVE: longer than max_hold_ms plus
    // the 2 s margin, so a pause timed from max_hold_ms alone would have
    // ended on the server before the lease even began.
    REQUIRE(c.cmd({"INFO", "persistence"}).find("rdb_bgsave_in_progress:1") != std::string::npos);
    const json q = quiesce(f.payload({{"max_hold_ms", 1000}, {"acquire_timeout_ms", 30000}}));
    CHECK(clock_type::now() - start >= 3s);
    CHECK(c.cmd({"INFO", "persistence"}).find("rdb_bgsave_in_progress:0") != std::string::npos);
    CHECK(contains(q.at("files_to_copy"), "dump.rdb"));  // the finished BGSAVE wrote it
    RedisClient writer = f.client();
    Pending write([&] { writer.cmd({"SET", "after_bgsave", "1"}); });
    CHECK_FALSE(write.done_within(500ms));
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "explicit");
    CHECK(write.done_within(2s));
    c.cmd({"CONFIG", "SET", "rdb-key-save-delay", "0"});
    f.require_writable();
}

TEST_CASE("redis: a least-privilege ACL user can quiesce; one without CLIENT PAUSE cannot",
          "[redis]") {
    Fixture& f = fixture();
    RedisClient c = f.client();
    // The rights docs/redis-plugin.md lists; the password goes over the
    // connection (">" + password), so it is in no argv.
    const auto create = [&](const std::string& user, const std::string& pause_rule) {
        c.cmd({"ACL", "SETUSER", user, "reset", "on", ">" + f.password.value(), "-@all",
               "+client|setname", "+client|id", "+info", "+config|get", "+client|unpause",
               pause_rule});
    };
    create("snap", "+client|pause");
    create("nopause", "-client|pause");
    const json q = quiesce(f.payload({{"user", "snap"}}));
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "explicit");
    const auto err = db_error_of([&] { quiesce(f.payload({{"user", "nopause"}})); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::permission);
    CHECK(err->native_code() == "NOPERM");
    CHECK(err->where().step == "pause");
    CHECK(std::string(err->what()).find("nopause") == std::string::npos);  // a payload value
    c.cmd({"ACL", "DELUSER", "snap", "nopause"});
    f.require_writable();
}

TEST_CASE("redis: the password never shows in results, errors, events, logs or argv", "[redis]") {
    Fixture& f = fixture();
    TempDir snap("redis-secret");
    WatchedRun run = run_sales_watched(
        "redis", f.payload({{"snapshot_dir", (snap / "copy").string()}}), f.password);
    CHECK(run.report.ok);
    REQUIRE(run.report.steps.size() == 3);
    CHECK(run.report.steps[2].result.at("released_by") == "explicit");
    CHECK_FALSE(run.password_in_a_process_during_hold);
    std::string& seen = run.seen;

    Sentinel wrong("TASKEXEC_IT_REDIS_WRONG");
    const auto refused = db_error_of([&] {
        quiesce(f.payload({{"password_env", wrong.variable()}}));
    });
    REQUIRE(refused);
    CHECK(refused->kind() == db_error_kind::permission);
    CHECK(refused->native_code() == "WRONGPASS");
    seen += everything_thrown([&] { quiesce(f.payload({{"password_env", wrong.variable()}})); });
    const auto no_auth = db_error_of([&] { quiesce(f.payload({{"password_env", ""}})); });
    REQUIRE(no_auth);
    CHECK(no_auth->native_code() == "NOAUTH");
    seen += check_unset_password_env([&](const json& extra) { quiesce(f.payload(extra)); });

    check_password_hidden(seen, f.password, wrong, f.server.log_file());
    f.require_writable();
}

TEST_CASE("redis: the taskexec program loads the plugin; its exit releases the lease",
          "[redis][cli]") {
    Fixture& f = fixture();
    const std::string dir = fs::path(TASKEXEC_REDIS_PLUGIN_PATH).parent_path().string();
    const auto [bare_rc, bare] = run_cli({"list", "--json"});
    REQUIRE(bare_rc == 0);
    CHECK_FALSE(contains(listed_engines(json::parse(bare), "quiesce_db"), "redis"));
    const auto [list_rc, list] = run_cli({"--plugins", dir, "list", "--json"});
    REQUIRE(list_rc == 0);
    const json listed = json::parse(list);
    CHECK(contains(listed_engines(listed, "quiesce_db"), "redis"));
    CHECK(contains(listed_engines(listed, "unquiesce_db"), "redis"));
    CHECK(listed.at("conflicts").empty());

    // A quiesce in a program that then exits: the lease's exit hook (inside
    // the plugin) unpauses, or require_writable's write would wait 62 s.
    const auto [held_rc, held] = run_cli(
        {"--plugins", dir, "run", "sales", "quiesce_db", "redis", "--payload", f.payload().dump()},
        {f.password.variable() + "=" + f.password.value()});
    REQUIRE(held_rc == 0);
    CHECK(json::parse(held).at("engine") == "redis");
    CHECK_FALSE(f.password.appears_in(held));
    f.require_writable();
}
