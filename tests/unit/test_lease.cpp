// Leases: ids, explicit release, the watchdog, exactly-once release under
// races, re-entrant callbacks, and release at process exit.
//
// Process exit is checked from a child: this very test binary, run again
// (via /proc/self/exe) with the name of one of the hidden "lease child" test
// cases below. The child writes what its callbacks saw to a file named by
// TASKEXEC_TEST_LEASE_OUT, then leaves by returning from main, exit() or
// quick_exit(); the parent reads the file.
#include <taskexec/lease.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>
#include <sys/wait.h>
extern char** environ;
#endif

#include "taskexec_catch.hpp"

using taskexec::release_reason;
using taskexec::release_result;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Counts a lease's releases and remembers the last reason.
struct Probe {
    std::atomic<int> count{0};
    std::atomic<release_reason> reason{release_reason::process_exit};
    std::atomic<steady::rep> at{0};

    std::function<void(release_reason)> callback() {
        return [this](release_reason r) {
            reason = r;
            at = steady::now().time_since_epoch().count();
            ++count;
        };
    }
    steady::time_point when() const { return steady::time_point(steady::duration(at.load())); }
};

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 2000ms) {
    const auto give_up = steady::now() + limit;
    while (!done()) {
        if (steady::now() > give_up) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

bool is_lease_id(const std::string& id) {
    return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

}  // namespace

TEST_CASE("enum names", "[lease]") {
    CHECK(taskexec::to_string(release_reason::explicit_release) == "explicit_release");
    CHECK(taskexec::to_string(release_reason::watchdog) == "watchdog");
    CHECK(taskexec::to_string(release_reason::process_exit) == "process_exit");
    CHECK(taskexec::to_string(release_result::explicit_release) == "explicit_release");
    CHECK(taskexec::to_string(release_result::watchdog) == "watchdog");
    CHECK(taskexec::to_string(release_result::already_released) == "already_released");
    CHECK(taskexec::to_string(release_result::unknown) == "unknown");
}

TEST_CASE("ids are 32 hex characters and distinct; explicit release happens once", "[lease]") {
    std::set<std::string> ids;
    std::atomic<int> released{0};
    for (int i = 0; i < 1000; ++i) {
        const std::string id = taskexec::acquire_lease("test", 60s, [&](release_reason r) {
            if (r == release_reason::explicit_release) ++released;
        });
        CHECK(is_lease_id(id));
        ids.insert(id);
    }
    CHECK(ids.size() == 1000);
    // 1000 ids of 128 random bits: every hex digit shows up in every place.
    std::set<char> first_digits;
    for (const auto& id : ids) first_digits.insert(id[0]);
    CHECK(first_digits.size() == 16);

    for (const auto& id : ids)
        CHECK(taskexec::release_lease(id) == release_result::explicit_release);
    CHECK(released == 1000);
    for (const auto& id : ids)
        CHECK(taskexec::release_lease(id) == release_result::already_released);
    CHECK(released == 1000);
}

TEST_CASE("ids never issued are unknown", "[lease]") {
    Probe probe;
    const std::string id = taskexec::acquire_lease("test", 60s, probe.callback());
    std::string upper = id;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) {
        return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    const bool has_letter = upper != id;
    CHECK(taskexec::release_lease("") == release_result::unknown);
    CHECK(taskexec::release_lease("not-a-lease") == release_result::unknown);
    CHECK(taskexec::release_lease(std::string(32, '0')) == release_result::unknown);
    CHECK(taskexec::release_lease(id.substr(1)) == release_result::unknown);
    CHECK(taskexec::release_lease(id + "0") == release_result::unknown);
    if (has_letter) CHECK(taskexec::release_lease(upper) == release_result::unknown);
    CHECK(probe.count == 0);
    CHECK(taskexec::release_lease(id) == release_result::explicit_release);
    CHECK(probe.count == 1);
}

TEST_CASE("max_hold must be positive", "[lease]") {
    CHECK_THROWS_AS(taskexec::acquire_lease("x", 0ms, {}), std::invalid_argument);
    CHECK_THROWS_AS(taskexec::acquire_lease("x", -5ms, {}), std::invalid_argument);
    // A hold too long for the clock saturates instead of overflowing.
    const std::string id = taskexec::acquire_lease("x", std::chrono::milliseconds::max(), {});
    CHECK(taskexec::release_lease(id) == release_result::explicit_release);
}

TEST_CASE("the watchdog releases a lease at its deadline, once", "[lease][watchdog]") {
    Probe probe;
    const auto before = steady::now();
    const std::string id = taskexec::acquire_lease("test", 100ms, probe.callback());
    REQUIRE(wait_for([&] { return probe.count.load() > 0; }));
    CHECK(probe.reason == release_reason::watchdog);
    const auto held = probe.when() - before;
    CHECK(held >= 100ms);  // never early
    const double late_ms = std::chrono::duration<double, std::milli>(held - 100ms).count();
    WARN("watchdog released " << late_ms << " ms after the deadline (contract: within 50 ms)");
    CHECK(late_ms < 2000.0);  // generous: a loaded CI machine must not flake
    CHECK(taskexec::release_lease(id) == release_result::watchdog);
    CHECK(taskexec::release_lease(id) == release_result::watchdog);
    std::this_thread::sleep_for(50ms);
    CHECK(probe.count == 1);
}

TEST_CASE("the watchdog releases in deadline order and spares released leases",
          "[lease][watchdog]") {
    std::mutex m;
    std::vector<int> order;
    const auto note = [&](int n) {
        // Catch2 assertions are for the main thread: note, check later.
        return [&, n](release_reason r) {
            std::lock_guard lock(m);
            order.push_back(r == release_reason::watchdog ? n : -n);
        };
    };
    Probe spared;
    (void)taskexec::acquire_lease("third", 300ms, note(3));
    const std::string early = taskexec::acquire_lease("spared", 150ms, spared.callback());
    (void)taskexec::acquire_lease("first", 100ms, note(1));
    (void)taskexec::acquire_lease("second", 200ms, note(2));
    CHECK(taskexec::release_lease(early) == release_result::explicit_release);
    REQUIRE(wait_for(
        [&] {
            std::lock_guard lock(m);
            return order.size() == 3;
        },
        3000ms));
    CHECK(order == std::vector<int>{1, 2, 3});
    CHECK(spared.count == 1);
    CHECK(spared.reason == release_reason::explicit_release);
}

TEST_CASE("watchdog lateness over many leases", "[lease][watchdog]") {
    constexpr int n = 20;
    std::vector<Probe> probes(n);
    const auto before = steady::now();
    for (int i = 0; i < n; ++i)
        (void)taskexec::acquire_lease("many", std::chrono::milliseconds(50 + 10 * i),
                                      probes[static_cast<std::size_t>(i)].callback());
    REQUIRE(wait_for(
        [&] {
            return std::all_of(probes.begin(), probes.end(),
                               [](const Probe& p) { return p.count > 0; });
        },
        5000ms));
    double worst = 0;
    for (int i = 0; i < n; ++i) {
        const auto& p = probes[static_cast<std::size_t>(i)];
        const auto deadline = before + std::chrono::milliseconds(50 + 10 * i);
        CHECK(p.when() >= deadline);
        worst =
            std::max(worst, std::chrono::duration<double, std::milli>(p.when() - deadline).count());
        CHECK(p.count == 1);
    }
    WARN("worst watchdog lateness over " << n << " leases: " << worst << " ms");
    CHECK(worst < 2000.0);
}

TEST_CASE("callbacks may throw and may call the lease functions", "[lease]") {
    SECTION("an exception from the callback is swallowed") {
        const std::string id = taskexec::acquire_lease(
            "throws", 60s, [](release_reason) { throw std::runtime_error("release failed"); });
        CHECK(taskexec::release_lease(id) == release_result::explicit_release);
        CHECK(taskexec::release_lease(id) == release_result::already_released);
        // The watchdog thread survives a throwing callback.
        (void)taskexec::acquire_lease("throws", 20ms, [](release_reason) { throw 42; });
        Probe after;
        (void)taskexec::acquire_lease("after", 60ms, after.callback());
        CHECK(wait_for([&] { return after.count.load() == 1; }));
    }
    SECTION("explicit: the callback releases itself and takes another lease") {
        std::string self;
        release_result inner = release_result::unknown;
        std::string second;
        self = taskexec::acquire_lease("reentrant", 60s, [&](release_reason) {
            inner = taskexec::release_lease(self);
            second = taskexec::acquire_lease("second", 60s, {});
        });
        CHECK(taskexec::release_lease(self) == release_result::explicit_release);
        CHECK(inner == release_result::already_released);
        REQUIRE(is_lease_id(second));
        CHECK(taskexec::release_lease(second) == release_result::explicit_release);
    }
    SECTION("watchdog: the callback releases itself and another lease") {
        Probe other;
        const std::string other_id = taskexec::acquire_lease("other", 60s, other.callback());
        std::atomic<int> inner{-1};
        std::atomic<int> other_result{-1};
        auto self = std::make_shared<std::string>();
        auto ready = std::make_shared<std::atomic<bool>>(false);
        *self = taskexec::acquire_lease("reentrant", 30ms, [&, self, ready](release_reason) {
            while (!ready->load()) std::this_thread::yield();  // until *self is set
            inner = static_cast<int>(taskexec::release_lease(*self));
            other_result = static_cast<int>(taskexec::release_lease(other_id));
        });
        *ready = true;
        CHECK(wait_for([&] { return other_result.load() != -1; }));
        CHECK(inner == static_cast<int>(release_result::watchdog));
        CHECK(other_result == static_cast<int>(release_result::explicit_release));
        CHECK(other.count == 1);
    }
}

TEST_CASE("a lease is released exactly once when the watchdog and callers race", "[lease][race]") {
    // The deadline is 1 ms away and two threads release at about that time:
    // every way the race can go must give one callback and consistent answers.
    constexpr int rounds = 1000;
    int by_watchdog = 0, by_caller = 0;
    for (int round = 0; round < rounds; ++round) {
        Probe probe;
        const std::string id = taskexec::acquire_lease("race", 1ms, probe.callback());
        std::atomic<bool> go{false};
        release_result results[2]{};
        std::thread racers[2];
        for (int t = 0; t < 2; ++t)
            racers[t] = std::thread([&, t] {
                while (!go.load()) std::this_thread::yield();
                results[t] = taskexec::release_lease(id);
            });
        std::this_thread::sleep_for(std::chrono::microseconds(500 + (round % 7) * 150));
        go = true;
        for (auto& r : racers) r.join();
        // release_lease waits for a release in progress, so the callback has run.
        REQUIRE(probe.count == 1);
        if (probe.reason == release_reason::watchdog) {
            ++by_watchdog;
            CHECK(results[0] == release_result::watchdog);
            CHECK(results[1] == release_result::watchdog);
        } else {
            ++by_caller;
            REQUIRE(probe.reason == release_reason::explicit_release);
            const bool first_won = results[0] == release_result::explicit_release;
            CHECK(results[first_won ? 0 : 1] == release_result::explicit_release);
            CHECK(results[first_won ? 1 : 0] == release_result::already_released);
        }
        CHECK(taskexec::release_lease(id) == (probe.reason == release_reason::watchdog
                                                  ? release_result::watchdog
                                                  : release_result::already_released));
    }
    WARN("race: watchdog won " << by_watchdog << ", a caller won " << by_caller << " of "
                               << rounds);
}

TEST_CASE("release_lease waits for a release in progress on another thread", "[lease][race]") {
    // The callback is slow, so the second party surely arrives mid-release.
    struct Slow {
        std::atomic<bool> started{false}, finished{false};
        std::function<void(release_reason)> callback() {
            return [this](release_reason) {
                started = true;
                std::this_thread::sleep_for(200ms);
                finished = true;
            };
        }
    };
    SECTION("the watchdog is releasing") {
        Slow slow;
        const std::string id = taskexec::acquire_lease("slow", 10ms, slow.callback());
        REQUIRE(wait_for([&] { return slow.started.load(); }));
        CHECK(taskexec::release_lease(id) == release_result::watchdog);
        CHECK(slow.finished);
    }
    SECTION("another caller is releasing") {
        Slow slow;
        const std::string id = taskexec::acquire_lease("slow", 60s, slow.callback());
        release_result first = release_result::unknown;
        std::thread other([&] { first = taskexec::release_lease(id); });
        REQUIRE(wait_for([&] { return slow.started.load(); }));
        CHECK(taskexec::release_lease(id) == release_result::already_released);
        CHECK(slow.finished);
        other.join();
        CHECK(first == release_result::explicit_release);
    }
}

TEST_CASE("many threads acquiring and releasing", "[lease][race]") {
    std::atomic<int> callbacks{0};
    std::atomic<int> acquired{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                const std::string id =
                    taskexec::acquire_lease("stress", std::chrono::milliseconds(1 + (i + t) % 5),
                                            [&](release_reason) { ++callbacks; });
                ++acquired;
                if (i % 3 != 0) taskexec::release_lease(id);
            }
        });
    for (auto& th : threads) th.join();
    CHECK(wait_for([&] { return callbacks.load() == acquired.load(); }, 5000ms));
    CHECK(callbacks == 1200);
}

// ---- process exit, checked from a child ----------------------------------

namespace {

void child_note(const std::string& line) {
    const char* path = std::getenv("TASKEXEC_TEST_LEASE_OUT");
    if (path == nullptr) return;
    if (std::FILE* f = std::fopen(path, "a")) {
        std::fputs((line + "\n").c_str(), f);
        std::fclose(f);
    }
}

void child_acquire() {
    for (const char* name : {"a", "b"})
        (void)taskexec::acquire_lease(name, 60s, [name](release_reason r) {
            child_note(std::string(name) + ":" + std::string(taskexec::to_string(r)));
        });
    const std::string c = taskexec::acquire_lease(
        "c", 60s, [](release_reason r) { child_note("c:" + std::string(taskexec::to_string(r))); });
    taskexec::release_lease(c);
}

#if defined(__linux__)
/// Waits for `pid` at most `limit`, then kills it: a hung child must fail
/// the test, not hang the suite.
bool wait_child(pid_t pid, int& status, std::chrono::milliseconds limit) {
    const auto give_up = steady::now() + limit;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (steady::now() > give_up) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return false;
        }
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

/// Runs this test binary again with one hidden test case; returns its lines.
std::vector<std::string> run_child(const std::string& test_name, int& status) {
    static std::atomic<int> counter{0};
    const auto out = std::filesystem::temp_directory_path() /
                     ("taskexec_lease_child_" + std::to_string(::getpid()) + "_" +
                      std::to_string(counter++) + ".txt");
    std::filesystem::remove(out);
    // Children skip LeakSanitizer's exit check: in a fork()ed child of a
    // threaded process it can deadlock on the allocator (seen with gcc 12),
    // and leaks are the parent run's business anyway.
    std::vector<std::string> env_strings;
    std::string asan_options = "ASAN_OPTIONS=detect_leaks=0";
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        if (entry.rfind("ASAN_OPTIONS=", 0) == 0)
            asan_options = entry + ":detect_leaks=0";
        else
            env_strings.push_back(entry);
    }
    env_strings.push_back(asan_options);
    env_strings.push_back("TASKEXEC_TEST_LEASE_OUT=" + out.string());
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    std::string name = test_name;
    char* argv[] = {exe.data(), name.data(), nullptr};

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    REQUIRE(wait_child(pid, status, 60s));

    std::vector<std::string> lines;
    std::ifstream in(out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::filesystem::remove(out);
    std::sort(lines.begin(), lines.end());
    return lines;
}
#endif

}  // namespace

TEST_CASE("lease child returns from main", "[.][lease_child]") {
    child_acquire();  // then Catch2's main returns
}

TEST_CASE("lease child calls exit", "[.][lease_child]") {
    child_acquire();
    std::exit(0);
}

TEST_CASE("lease child exits while the watchdog releases", "[.][lease_child]") {
    static std::atomic<bool> started{false};
    (void)taskexec::acquire_lease("slow", 10ms, [](release_reason r) {
        started = true;
        std::this_thread::sleep_for(300ms);
        child_note("slow:" + std::string(taskexec::to_string(r)));
    });
    while (!started) std::this_thread::sleep_for(1ms);
    // Returning now: the exit hook must wait for the watchdog's release.
}

#if defined(__linux__)
TEST_CASE("lease child forks a process that exits", "[.][lease_child]") {
    (void)taskexec::acquire_lease("held", 60s, [](release_reason r) {
        child_note("held:" + std::string(taskexec::to_string(r)) + ":" +
                   std::to_string(::getpid()));
    });
    const pid_t pid = ::fork();
    if (pid == 0) std::exit(0);  // the fork's exit must leave the lease alone
    int status = 0;
    if (wait_child(pid, status, 30s)) child_note("fork exited");
    // Returning now: this process's exit releases the lease, once.
}
#endif

TEST_CASE("lease child calls quick_exit", "[.][lease_child]") {
    child_acquire();
    std::quick_exit(0);
}

#if defined(__linux__)
TEST_CASE("leases still held are released once at normal process exit", "[lease][exit]") {
    const std::vector<std::string> released = {"a:process_exit", "b:process_exit",
                                               "c:explicit_release"};
    int status = 0;
    SECTION("return from main") {
        CHECK(run_child("lease child returns from main", status) == released);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    SECTION("exit()") {
        CHECK(run_child("lease child calls exit", status) == released);
        CHECK(WIFEXITED(status));
    }
    SECTION("exit waits for a release the watchdog has in progress") {
        CHECK(run_child("lease child exits while the watchdog releases", status) ==
              std::vector<std::string>{"slow:watchdog"});
        CHECK(WIFEXITED(status));
    }
    SECTION("a fork()ed child's exit does not release its parent's leases") {
        const auto lines = run_child("lease child forks a process that exits", status);
        REQUIRE(lines.size() == 2);
        CHECK(lines[0] == "fork exited");
        CHECK(lines[1].rfind("held:process_exit:", 0) == 0);
        CHECK(WIFEXITED(status));
    }
    SECTION("quick_exit() does not run the release (documented)") {
        CHECK(run_child("lease child calls quick_exit", status) ==
              std::vector<std::string>{"c:explicit_release"});
        CHECK(WIFEXITED(status));
    }
}
#endif
