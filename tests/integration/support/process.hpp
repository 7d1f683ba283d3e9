// tests/integration/support/process.hpp — child processes and temporary
// directories for the throwaway database servers.
//
//     taskexec_it::TempDir dir("pg");                  // removed on destruction
//     dir.give_to("postgres");                         // chown, so the server may write
//     int rc = taskexec_it::run(as_user("postgres", {initdb, "-D", data}), dir / "initdb.log",
//                               std::chrono::seconds(60));
//
// Children get a minimal, fixed environment rather than ours: the tests put a
// sentinel password in this process's environment (password_env), and no
// child — server, initdb, runuser — may ever see it, neither in its argv nor
// in /proc/<pid>/environ. Output goes to a log file, never to our terminal,
// so a server's chatter does not interleave with Catch2's report.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace taskexec_it {

/// A directory under $TMPDIR (default /tmp), removed with its contents when
/// the object is destroyed. Move-only.
class TempDir {
public:
    explicit TempDir(const std::string& prefix);
    ~TempDir();
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const noexcept { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

    /// Hands the directory (recursively) to a system user when we are root;
    /// a no-op otherwise (then the server runs as us and already owns it).
    void give_to(const std::string& user) const;

private:
    std::filesystem::path path_;
};

/// chown -R to `user` when running as root (no-op otherwise). Throws if the
/// user does not exist.
void give_tree_to(const std::filesystem::path& path, const std::string& user);

/// `argv` run as `user`: prefixed with `runuser -u user --` when we are root
/// (CI runs as root, and PostgreSQL refuses to run as root), unchanged
/// otherwise.
std::vector<std::string> as_user(const std::string& user, std::vector<std::string> argv);

/// A running child. The destructor kills (SIGKILL) and reaps a child that is
/// still running, so a failing test never leaves one behind. Move-only.
class Process {
public:
    /// Starts `argv` (argv[0] an absolute path) with the fixed environment
    /// plus `extra_env` ("NAME=value"), stdin from /dev/null and
    /// stdout+stderr appended to `log`. Throws std::runtime_error on failure.
    static Process spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
                         const std::vector<std::string>& extra_env = {});

    Process() = default;
    ~Process();
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const noexcept { return pid_; }
    /// True while the child has not exited (reaps it if it has).
    bool running();
    /// Waits for the exit; the exit code (128+signal if killed), or nullopt on timeout.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Idempotent.
    void stop(std::chrono::milliseconds grace);

private:
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// Runs `argv` to completion; returns its exit code. Kills it and throws if
/// it runs longer than `timeout`.
int run(const std::vector<std::string>& argv, const std::filesystem::path& log,
        std::chrono::milliseconds timeout);

/// A TCP port that was free on 127.0.0.1 a moment ago (the kernel's choice).
int free_port();

/// The last `max_bytes` of a log file, for error messages.
std::string tail_of(const std::filesystem::path& file, std::size_t max_bytes = 2000);

/// True if `pid` exists and is not a zombie.
bool pid_alive(pid_t pid);

}  // namespace taskexec_it
