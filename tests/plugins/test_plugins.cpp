// Plugins: built into two hosts — one exporting no symbols and one built
// with ENABLE_EXPORTS — so both ways a plugin can meet the host's registry
// are covered, with plugins of hidden and of default visibility.
#include "taskexec_catch.hpp"
#include "plugin_api.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using taskexec::errc;
using taskexec::json;

namespace plugin_test {
struct GreetHost : Greet, taskexec::Engine<"host"> {
    json execute(const json& p) { return {{"host", true}, {"echo", p}}; }
};
TASKEXEC_ENGINE(GreetHost);
}  // namespace plugin_test

namespace {

std::string canonical(const char* path) { return fs::canonical(path).string(); }

taskexec::error load_error(const fs::path& path, const taskexec::PluginOptions& options = {}) {
    try {
        taskexec::load_plugin(path, options);
    } catch (const taskexec::error& e) {
        return e;
    }
    throw std::logic_error("expected plugin_load_failed for " + path.string());
}

bool has(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// A private temporary directory (mode 0700), removed at scope end.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "taskexec-plugins-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

const json* engine_in_describe(const json& d, std::string_view task, std::string_view engine) {
    for (const json& t : d.at("tasks"))
        if (t.at("name") == task)
            for (const json& e : t.at("engines"))
                if (e.at("name") == engine) return &e;
    return nullptr;
}

void check_engine_plugin(const char* path, const std::string& type) {
    const taskexec::PluginReport report = taskexec::load_plugin(path);
    CHECK(report.newly_loaded);
    CHECK(report.path == fs::path(canonical(path)));
    CHECK(report.engines ==
          std::vector<std::string>{"pl.greet/" + type, "pl.only_" + type + "/*"});
    CHECK(report.tasks == std::vector<std::string>{"pl.only_" + type});
    // pl.wf is repeated from the shared header: not an addition.
    CHECK(report.workflows == std::vector<std::string>{"pl.wf_" + type});
    CHECK(report.to_json().at("newly_loaded") == true);

    // The plugin's engine answers, and inside it executor() reaches the
    // host's engine: the plugin uses the host's registry, not a copy.
    const json r = taskexec::executor("pl.wf", "pl.greet", type, {{"n", 1}});
    CHECK(r.at("engine") == type);
    CHECK(r.at("host_said") == json{{"host", true}, {"echo", {{"n", 1}}}});
    CHECK(taskexec::executor("pl.wf_" + type, "pl.only_" + type, "any", {}) == type);

    // A lease the plugin's engine takes lives in the host's table: the host
    // releases it by id (a private table would answer `unknown`).
    const json leased = taskexec::executor("pl.wf", "pl.greet", type, {{"lease", true}});
    const std::string lease_id = leased.at("lease_id").get<std::string>();
    CHECK(taskexec::release_lease(lease_id) == taskexec::release_result::explicit_release);
    CHECK(taskexec::release_lease(lease_id) == taskexec::release_result::already_released);

    const json d = taskexec::describe();
    const json* described = engine_in_describe(d, "pl.greet", type);
    REQUIRE(described != nullptr);
    CHECK(described->at("origin") == canonical(path));
    CHECK(has(described->at("site").get<std::string>(), "plugin_engines.cpp:"));
    const json* host_engine = engine_in_describe(d, "pl.greet", "host");
    REQUIRE(host_engine != nullptr);
    CHECK(host_engine->at("origin") == "executable");

    SECTION("loading the same file again is a no-op") {
        const taskexec::PluginReport again = taskexec::load_plugin(path);
        CHECK_FALSE(again.newly_loaded);
        CHECK(again.tasks.empty());
        CHECK(again.engines.empty());
        CHECK(again.workflows.empty());
    }
}

}  // namespace

TEST_CASE("a plugin built with hidden visibility registers into the host's registry") {
    check_engine_plugin(PLUGIN_HIDDEN, "hidden");
}

TEST_CASE("a plugin built with default visibility registers into the host's registry") {
    check_engine_plugin(PLUGIN_DEFAULT, "default");
}

TEST_CASE("a conflicting plugin is refused whole and the registry is unchanged") {
    const json before = taskexec::describe();
    const taskexec::error e = load_error(PLUGIN_CONFLICT);
    CHECK(e.code() == errc::plugin_load_failed);
    CHECK(has(e.what(), canonical(PLUGIN_CONFLICT)));
    CHECK(has(e.what(), "pl.greet/host"));
    CHECK(has(e.what(), "test_plugins.cpp:"));
    CHECK(has(e.what(), "plugin_conflict.cpp:"));
    CHECK(e.to_json().at("path") == canonical(PLUGIN_CONFLICT));
    CHECK(taskexec::describe() == before);
    CHECK_FALSE(taskexec::TaskEngineMap::instance().contains("pl.greet", "harmless"));
    CHECK(taskexec::executor("pl.wf", "pl.greet", "host", 1).at("host") == true);

    const taskexec::error again = load_error(PLUGIN_CONFLICT);
    CHECK(again.code() == errc::plugin_load_failed);
    CHECK(std::string(again.what()) == e.what());
    CHECK(taskexec::describe() == before);
}

TEST_CASE("files that are not loadable plugins fail clearly") {
    TempDir dir;
    SECTION("a missing file") {
        const auto e = load_error(dir.path / "missing.so");
        CHECK(e.code() == errc::plugin_load_failed);
        CHECK(has(e.what(), "missing.so"));
        CHECK(has(e.what(), "cannot be found"));
    }
    SECTION("a file that is not a shared object") {
        const fs::path text = dir.path / "text.so";
        std::ofstream(text) << "not an ELF file\n";
        const auto e = load_error(text);
        CHECK(e.code() == errc::plugin_load_failed);
        CHECK(has(e.what(), "text.so"));
        CHECK(has(e.what(), "not a loadable shared object"));
    }
    SECTION("a shared library built without taskexec") {
        const auto e = load_error(NOT_TASKEXEC);
        CHECK(e.code() == errc::plugin_load_failed);
        CHECK(has(e.what(), "not a taskexec plugin"));
    }
    SECTION("a plugin built against an incompatible taskexec") {
        const auto e = load_error(INCOMPATIBLE);
        CHECK(e.code() == errc::plugin_load_failed);
        CHECK(has(e.what(), "incompatible taskexec"));
        CHECK(has(e.what(), "ABI 999"));
    }
}

TEST_CASE("plugins other users could modify are refused unless the caller opts out") {
    TempDir dir;
    const fs::path copy = dir.path / "libtrust.so";
    fs::copy_file(PLUGIN_TRUST, copy);
    ::chmod(copy.c_str(), 0666);
    const auto e = load_error(copy);
    CHECK(e.code() == errc::plugin_load_failed);
    CHECK(has(e.what(), "writable by users other than its owner"));
    CHECK(has(e.what(), "allow_untrusted"));
    CHECK_FALSE(taskexec::TaskEngineMap::instance().contains("pl.greet", "trust"));

    ::chmod(copy.c_str(), 0644);
    ::chmod(dir.path.c_str(), 0777);  // a directory others can write, without sticky bit
    const auto dir_error = load_error(copy);
    CHECK(has(dir_error.what(), "its directory"));

    taskexec::PluginOptions opt_out;
    opt_out.allow_untrusted = true;
    const auto report = taskexec::load_plugin(copy, opt_out);
    CHECK(report.newly_loaded);
    CHECK(taskexec::executor("pl.wf", "pl.greet", "trust", {}) == "trust");
}

TEST_CASE("load_plugins loads every *.so of a directory in name order") {
    TempDir dir;
    fs::create_symlink(PLUGIN_DIR_A, dir.path / "a_first.so");
    fs::create_symlink(PLUGIN_DIR_B, dir.path / "b_second.so");
    std::ofstream(dir.path / "c_broken.so") << "not a plugin\n";
    fs::create_symlink(PLUGIN_DIR_D, dir.path / "d_after_failure.so");
    std::ofstream(dir.path / "readme.txt") << "ignored\n";
    fs::create_directory(dir.path / "nested.so");  // not a regular file: ignored

    try {
        taskexec::load_plugins(dir.path);
        FAIL("expected the broken plugin to stop the load");
    } catch (const taskexec::error& e) {
        CHECK(e.code() == errc::plugin_load_failed);
        CHECK(has(e.what(), "c_broken.so"));
        const json j = e.to_json();
        REQUIRE(j.at("loaded").size() == 2);
        CHECK(j.at("loaded")[0] == canonical(PLUGIN_DIR_A));
        CHECK(j.at("loaded")[1] == canonical(PLUGIN_DIR_B));
    }
    CHECK(taskexec::TaskEngineMap::instance().contains("pl.greet", "dir_a"));
    CHECK(taskexec::TaskEngineMap::instance().contains("pl.greet", "dir_b"));
    CHECK_FALSE(taskexec::TaskEngineMap::instance().contains("pl.greet", "dir_d"));

    fs::remove(dir.path / "c_broken.so");
    const auto reports = taskexec::load_plugins(dir.path);
    REQUIRE(reports.size() == 3);
    CHECK_FALSE(reports[0].newly_loaded);
    CHECK_FALSE(reports[1].newly_loaded);
    CHECK(reports[2].newly_loaded);
    CHECK(reports[2].engines == std::vector<std::string>{"pl.greet/dir_d"});

    const auto missing = [&] {
        try {
            taskexec::load_plugins(dir.path / "nope");
        } catch (const taskexec::error& e) {
            return e.code();
        }
        return errc::cancelled;
    }();
    CHECK(missing == errc::plugin_load_failed);
}

TEST_CASE("dispatch goes on while a plugin loads on another thread") {
    std::atomic<bool> done{false};
    std::atomic<int> wrong{0};
    std::atomic<long> calls{0};
    std::thread dispatcher([&] {
        while (!done.load() || calls.load() < 1000) {
            if (taskexec::executor("pl.wf", "pl.greet", "host", 7).at("echo") != 7) ++wrong;
            ++calls;
        }
    });
    const auto report = taskexec::load_plugin(PLUGIN_CONCURRENT);
    done = true;
    dispatcher.join();
    CHECK(report.newly_loaded);
    CHECK(wrong.load() == 0);
    CHECK(taskexec::executor("pl.wf", "pl.greet", "concurrent", {}) == "concurrent");
}
