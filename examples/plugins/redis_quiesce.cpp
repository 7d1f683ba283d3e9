// examples/plugins/redis_quiesce.cpp — quiesce_db / unquiesce_db for Redis
// 6.2+ (hiredis), shipped as a plugin: `taskexec --plugins DIR` gains the
// `redis` engine without a rebuild of the program.
//
// Quiesce: CLIENT PAUSE <ms> WRITE. Write commands (and key expiry and
// eviction) wait on the server; reads go on. Once the pause is in force no
// byte of the dataset changes. Quiesce then waits, within
// acquire_timeout_ms, until no BGSAVE or AOF rewrite is running and the AOF
// buffer is written out: from then on the files do not change and the AOF
// holds every acknowledged write, so a copy of the data directory is
// consistent. Nothing else is triggered (no SAVE): the copy holds what is on
// disk — the AOF when appendonly is on, else the last RDB save.
//
// The pause is the server's, not the connection's (see redis_session.hpp):
// its own timeout, beyond the acquisition plus max_hold_ms, is the backstop
// for a client that died; our watchdog unpauses at max_hold_ms first. CLIENT UNPAUSE lifts
// every client's pause, so one server is quiesced by one lease at a time
// (already_quiesced within this process; across processes, don't).
//
// The tasks come from examples/tasks/db_tasks.hpp, which the program
// registers too: repeats of the same classes, so the plugin adds only the
// two engines.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"
#include "redis_session.hpp"
#include "server_common.hpp"

namespace taskexec_examples::redis {
namespace {

namespace fs = std::filesystem;
using taskexec::json;
using clock_type = std::chrono::steady_clock;

db_where at(const char* step) { return {std::string(engine_name), "quiesce_db", step}; }

/// "7.0.15" -> 70015, to compare with 60200 (CLIENT PAUSE ... WRITE).
long version_number(const std::string& v) {
    long parts[3] = {0, 0, 0};
    std::size_t i = 0;
    for (char c : v) {
        if (c == '.') {
            if (++i == 3) break;
        } else if (c >= '0' && c <= '9') {
            parts[i] = parts[i] * 10 + (c - '0');
        } else {
            break;
        }
    }
    return parts[0] * 10000 + parts[1] * 100 + parts[2];
}

/// An INFO field as a number (0 if absent or not numeric).
std::int64_t number(const Info& info, const char* field) {
    const auto it = info.find(field);
    if (it == info.end()) return 0;
    try {
        return std::stoll(it->second);
    } catch (const std::exception&) {
        return 0;
    }
}

/// Where the server keeps its files, from its own configuration.
struct Layout {
    std::string source_dir;  ///< the server's `dir`, or the payload's data_dir
    std::string rdb;         ///< dbfilename ("dump.rdb")
    std::string aof;         ///< appenddirname (7.0+) or appendfilename; empty: AOF off
};

Layout read_layout(Session& s, const QuiesceParams& p) {
    const db_where where = at("config");
    Layout out;
    const std::optional<std::string> dir = s.config_get("dir", where);
    if (!dir)
        throw db_error(db_error_kind::precondition, where, "",
                       "the server does not report its data directory (CONFIG GET dir)", false);
    out.source_dir = p.data_dir.empty() ? *dir : p.data_dir;
    out.rdb = s.config_get("dbfilename", where).value_or("");
    if (s.config_get("appendonly", where).value_or("no") == "yes") {
        // Redis 7 keeps a multi-part AOF in a directory; older ones one file.
        out.aof = s.config_get("appenddirname", where)
                      .value_or(s.config_get("appendfilename", where).value_or(""));
    }
    std::error_code ec;
    if (!fs::is_directory(out.source_dir, ec))
        throw db_error(db_error_kind::precondition, at("list_files"), "",
                       "the server's data directory (dir, or data_dir) is not a directory "
                       "visible from this host; give payload field 'data_dir' where it is "
                       "mounted here",
                       false);
    return out;
}

/// What is on disk now: the RDB file if one was saved, the AOF if enabled.
/// A server that persists nothing has nothing to snapshot.
json files_to_copy(const Layout& layout) {
    json files = json::array();
    std::error_code ec;
    for (const std::string* name : {&layout.rdb, &layout.aof})
        if (!name->empty() && fs::exists(fs::path(layout.source_dir) / *name, ec))
            files.push_back(*name);
    if (files.empty())
        throw db_error(db_error_kind::precondition, at("list_files"), "",
                       "nothing on disk to copy: no RDB file has been saved and appendonly is "
                       "off (enable appendonly, or SAVE once, before a file snapshot)",
                       false);
    return files;
}

json quiesce(const QuiesceParams& p, taskexec::Context& ctx) {
    const auto start = clock_type::now();
    server::validate_common(p, at("validate"));
    const server::AcquireBudget budget(p, ctx, start);
    const std::stop_token stop = ctx.stop_token();

    // The session is the scope guard: once CLIENT PAUSE was sent, its
    // destructor lifts the pause unless the lease took the session over.
    std::unique_ptr<Session> s = Session::connect(p, at("connect"), budget.total_ms());
    const Info server_info = s->info("server", at("version"));
    const std::string version =
        server_info.count("redis_version") != 0 ? server_info.at("redis_version") : "";
    if (version_number(version) < 60200)
        throw db_error(db_error_kind::precondition, at("version"), "",
                       "Redis 6.2 or later is required (CLIENT PAUSE ... WRITE)", false);
    s->run_id = server_info.count("run_id") != 0 ? server_info.at("run_id") : "";
    const std::string run_id = s->run_id;
    if (leases().any_held([&](const Session& held) { return held.run_id == run_id; }))
        throw db_error(db_error_kind::already_quiesced, at("lookup"), "",
                       "this process already holds this server paused (an earlier lease was "
                       "not released)",
                       false);
    const Layout layout = read_layout(*s, p);
    files_to_copy(layout);  // fail before pausing if there is nothing to copy

    // The server's own timeout, the backstop for a client that dies, must
    // outlast everything still to come — the rest of the acquisition, then
    // the lease — or the server could resume writes while a lease still
    // says the copy is valid. (A second PAUSE could only extend it, never
    // take back writes that landed in between.)
    const std::int64_t pause_ms =
        p.max_hold_ms + server::backstop_margin_ms + budget.remaining_ms();
    json result;
    try {
        s->set_timeout(budget.remaining_ms());
        s->pause(pause_ms, at("pause"));
        // A background save still writing would change the files under the
        // copy. And with appendfsync everysec, Redis may answer a write
        // before its AOF buffer reaches the file (while a slow fsync runs):
        // wait until the buffer is empty, so the file has every
        // acknowledged write and grows no further.
        Info persistence;
        for (;;) {
            s->set_timeout(budget.remaining_ms());
            persistence = s->info("persistence", at("wait_saves"));
            if (number(persistence, "rdb_bgsave_in_progress") == 0 &&
                number(persistence, "aof_rewrite_in_progress") == 0 &&
                number(persistence, "aof_rewrite_scheduled") == 0 &&
                number(persistence, "aof_buffer_length") == 0)
                break;
            if (stop.stop_requested())
                throw db_error(db_error_kind::cancelled, at("wait_saves"), "",
                               "cancelled by the run (stop or deadline)", false);
            if (budget.remaining_ms() <= 1)
                throw db_error(db_error_kind::acquire_timeout, at("wait_saves"), "",
                               "a BGSAVE, an AOF rewrite or the AOF buffer was still being "
                               "written to the data files at acquire_timeout_ms",
                               false);
            std::this_thread::sleep_for(
                std::chrono::milliseconds(std::min<std::int64_t>(20, budget.remaining_ms())));
        }
        const Info replication = s->info("replication", at("consistency"));
        result = {
            {"engine", std::string(engine_name)},
            {"redis_version", version},
            {"run_id", run_id},
            {"client_id", s->client_id()},
            {"pause_ms", pause_ms},
            {"consistency",
             {{"master_repl_offset", number(replication, "master_repl_offset")},
              {"aof_enabled", number(persistence, "aof_enabled") == 1},
              {"rdb_last_save_time", number(persistence, "rdb_last_save_time")},
              {"rdb_changes_since_last_save", number(persistence, "rdb_changes_since_last_save")}}},
            {"source_dir", layout.source_dir},
            {"files_to_copy", files_to_copy(layout)},  // again: a save may have just finished
            {"exclude", json::array()},
        };
    } catch (const db_error& e) {
        // Lift it now rather than in the destructor, to say in the error
        // whether writes are still paused.
        if (!s->lift())
            throw db_error(e.kind(), e.where(), e.native_code(),
                           e.message() +
                               "; CLIENT UNPAUSE failed too, the server resumes "
                               "writes by itself after pause_ms",
                           true);
        throw;
    }
    s->set_timeout(release_timeout_ms);  // for the release, whenever it comes
    const auto max_hold = std::chrono::milliseconds(p.max_hold_ms);
    result["deadline_ms"] = server::epoch_ms(std::chrono::system_clock::now() + max_hold);
    result["max_hold_ms"] = p.max_hold_ms;
    // Last: from here on the watchdog may unpause and close at any time.
    result["lease_id"] = leases().hold(std::move(s), max_hold);
    result["elapsed_ms"] = LeaseTable<Session>::ms_since(start);
    return result;
}

struct RedisQuiesceDb : QuiesceDb, taskexec::Engine<"redis"> {
    json execute(const QuiesceParams& p, taskexec::Context& ctx) { return quiesce(p, ctx); }
};
TASKEXEC_ENGINE(RedisQuiesceDb);

struct RedisUnquiesceDb : UnquiesceDb, taskexec::Engine<"redis"> {
    json execute(const UnquiesceParams& p, taskexec::Context& ctx) {
        return leases().unquiesce(p, ctx.stop_token(), [](Session& s) { return s.release(); });
    }
};
TASKEXEC_ENGINE(RedisUnquiesceDb);

}  // namespace
}  // namespace taskexec_examples::redis
