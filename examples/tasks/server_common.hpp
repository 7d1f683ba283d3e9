// examples/tasks/server_common.hpp — what the server engines (postgres,
// mariadb/mysql, mongo) share: payload checks, the password lookup, the
// server-side backstop, and listing a data directory for the copy.
//
//     server::validate_common(p, where);       // max_hold_ms, acquire_timeout_ms, text fields
//     std::optional<server::Secret> pw = server::password_from_env(p, where);
//     const char* password = pw ? pw->c_str() : nullptr;   // handed to the client library only
//     json files = server::list_entries(source_dir, where); // files_to_copy
//
// Credentials: the password is read from the variable `password_env` names,
// given to the client library and wiped when the Secret goes out of scope.
// No message here names a payload value — only payload field names.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "payload_text.hpp"
#include "snapshot_seal.hpp"

namespace taskexec_examples::server {

/// EXAMPLES.md: a hold above ten minutes is a configuration error.
constexpr std::int64_t max_hold_limit_ms = 600000;

/// How far above max_hold_ms the server-side backstop (idle_session_timeout,
/// wait_timeout) fires. Our watchdog releases at max_hold_ms; the backstop
/// is only for a client process that died or hung, so it must never beat
/// the watchdog — but it should not lag far behind it either.
constexpr std::int64_t backstop_margin_ms = 2000;

/// A config db_error for payload field problems.
inline db_error config_error(const db_where& where, const std::string& message) {
    return db_error(db_error_kind::config, where, "", message, false);
}

/// The checks every server engine makes before touching the network.
inline void validate_common(const QuiesceParams& p, const db_where& where) {
    check_text_fields(p, where);
    if (p.max_hold_ms < 1 || p.max_hold_ms > max_hold_limit_ms)
        throw config_error(where, "payload field 'max_hold_ms' must be between 1 and 600000");
    // 0 is allowed, as for sqlite: "try once"; acquire_budget_ms turns it
    // into 1 ms, because 0 means "wait forever" to lock_timeout and friends.
    if (p.acquire_timeout_ms < 0 || p.acquire_timeout_ms > max_hold_limit_ms)
        throw config_error(where,
                           "payload field 'acquire_timeout_ms' must be between 0 and 600000");
}

/// A password in memory: moved, never copied, overwritten on destruction so
/// it does not linger in freed heap memory (core dumps, later allocations).
class Secret {
public:
    explicit Secret(std::string value) : value_(std::move(value)) {}
    Secret(Secret&& other) noexcept : value_(std::move(other.value_)) { other.wipe(); }
    Secret& operator=(Secret&&) = delete;
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret() { wipe(); }

    const char* c_str() const noexcept { return value_.c_str(); }
    const std::string& str() const noexcept { return value_; }

private:
    void wipe() noexcept {
        // volatile: the stores must not be optimised away as dead.
        volatile char* p = value_.data();
        for (std::size_t i = 0; i < value_.size(); ++i) p[i] = '\0';
        value_.clear();
    }
    std::string value_;
};

/// The password from the environment variable `password_env` names;
/// nullopt when the payload gives no password_env (the client library then
/// uses its own defaults: peer/trust auth, a socket). Throws config if the
/// variable is not set — naming the field, never the variable or its value.
inline std::optional<Secret> password_from_env(const QuiesceParams& p, const db_where& where) {
    if (p.password_env.empty()) return std::nullopt;
    const char* value = std::getenv(p.password_env.c_str());
    if (value == nullptr)
        throw config_error(where,
                           "the environment variable named by payload field "
                           "'password_env' is not set");
    return Secret(value);
}

/// Milliseconds since the epoch, as results report deadlines (`deadline_ms`).
inline std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// How long acquisition may take: acquire_timeout_ms, cut short by the
/// step's deadline when a workflow run gives one (never below 1 ms, so a
/// passed deadline still fails fast instead of meaning "no timeout").
inline std::int64_t acquire_budget_ms(const QuiesceParams& p, const taskexec::Context& ctx) {
    std::int64_t budget = p.acquire_timeout_ms;
    if (ctx.deadline() != std::chrono::steady_clock::time_point::max()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              ctx.deadline() - std::chrono::steady_clock::now())
                              .count();
        budget = std::min<std::int64_t>(budget, left);
    }
    return std::max<std::int64_t>(budget, 1);
}

/// The acquisition budget (acquire_budget_ms) counted down from the start of
/// the quiesce: each statement that waits gets what is left of it.
class AcquireBudget {
public:
    AcquireBudget(const QuiesceParams& p, const taskexec::Context& ctx,
                  std::chrono::steady_clock::time_point start)
        : start_(start), total_ms_(acquire_budget_ms(p, ctx)) {}

    /// The whole budget, for the connection (made first).
    std::int64_t total_ms() const noexcept { return total_ms_; }

    /// What is left now; at least 1 ms, never "no timeout".
    std::int64_t remaining_ms() const {
        const auto used = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start_)
                              .count();
        return std::max<std::int64_t>(1, total_ms_ - used);
    }

private:
    std::chrono::steady_clock::time_point start_;
    std::int64_t total_ms_;
};

/// Whole seconds, rounded up, at least 1 (for settings that take seconds).
inline long ceil_seconds(std::int64_t ms) {
    return static_cast<long>(std::max<std::int64_t>(1, (ms + 999) / 1000));
}

/// The top-level entries of a data directory (files, directories, links;
/// not sockets or FIFOs, which cannot be copied), sorted bytewise — the
/// `files_to_copy` of a server engine. Listed before the database is frozen,
/// so an unreadable directory fails without having held anything. A
/// snapshot's own records (snapshot_seal.hpp) are left out: no server names
/// its files so, and a data directory restored from a snapshot holds them
/// at its top, where snapshot_files would refuse them.
inline taskexec::json list_entries(const std::filesystem::path& dir, const db_where& where) {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::file_status st = it->symlink_status(ec);
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (name == seal_marker_name || name == snapshot_manifest_name) continue;
        if (fs::is_regular_file(st) || fs::is_directory(st) || fs::is_symlink(st))
            names.push_back(name);
    }
    if (ec)
        throw db_error(db_error_kind::precondition, where, "errno " + std::to_string(ec.value()),
                       "cannot list the data directory (data_dir, or the server's own) from "
                       "this host: " +
                           ec.message(),
                       false);
    std::sort(names.begin(), names.end());
    return taskexec::json(names);
}

}  // namespace taskexec_examples::server
