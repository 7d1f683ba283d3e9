// tests/integration/test_mongo.cpp — the mongo engine's command logic,
// through a test transport that records every command document and plays a
// small fsync-lock server (a counted lock, as mongod keeps it). No MongoDB
// server is packaged for Debian; test_mongo_live.cpp runs against a real one
// when TASKEXEC_MONGO_URI is set.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <taskexec/run.hpp>
#include <taskexec/taskexec.hpp>

#include "engine_checks.hpp"
#include "mongo_transport.hpp"
#include "process.hpp"
#include "servers.hpp"
#include "taskexec_catch.hpp"

namespace {

using namespace std::chrono_literals;
using taskexec::json;
using taskexec_examples::db_error_kind;
using taskexec_examples::mongo::CommandError;
using taskexec_examples::mongo::Document;
using taskexec_examples::mongo::failure_kind;
using namespace taskexec_it;

/// A pretend mongod: counts fsync locks, records commands, and can be told
/// to fail the next command of a given name.
struct FakeMongo {
    std::mutex mutex;
    std::vector<std::string> commands;  // dump() of each command, in order
    std::int64_t lock_count = 0;
    std::string connected_uri, connected_user, connected_password;
    std::chrono::milliseconds connected_timeout{};
    std::function<void(const Document&)> fail;  // may throw CommandError

    Document run(const Document& cmd) {
        std::lock_guard lock(mutex);
        commands.push_back(cmd.dump());
        if (fail) fail(cmd);
        if (cmd.contains("fsyncUnlock")) {
            if (lock_count == 0)
                throw CommandError(failure_kind::server, 20, "IllegalOperation", "x");
            return {{"info", "fsyncUnlock completed"}, {"lockCount", --lock_count}, {"ok", 1}};
        }
        return {{"info", "now locked against writes"}, {"lockCount", ++lock_count}, {"ok", 1}};
    }
    std::size_t unlocks() {
        std::lock_guard lock(mutex);
        std::size_t n = 0;
        for (const auto& c : commands) n += c == R"({"fsyncUnlock":1})" ? 1 : 0;
        return n;
    }
    std::size_t count() {
        std::lock_guard lock(mutex);
        return commands.size();
    }
};

/// Installs a FakeMongo as the engine's transport for one test. Transports
/// share ownership of it: a test that fails with a lease still held must not
/// leave the watchdog (or the exit hook) talking to a destroyed fake.
struct UseFake {
    std::shared_ptr<FakeMongo> shared = std::make_shared<FakeMongo>();
    FakeMongo& fake = *shared;
    struct Transport : taskexec_examples::mongo::Transport {
        explicit Transport(std::shared_ptr<FakeMongo> f) : fake(std::move(f)) {}
        Document run_admin(const Document& cmd) override { return fake->run(cmd); }
        std::shared_ptr<FakeMongo> fake;
    };
    UseFake() {
        taskexec_examples::mongo::set_transport_factory(
            [f = shared](const taskexec_examples::mongo::ConnectSpec& spec) {
                std::lock_guard lock(f->mutex);
                f->connected_uri = spec.uri;
                f->connected_user = spec.user;
                f->connected_password = spec.password != nullptr ? spec.password : "";
                f->connected_timeout = spec.timeout;
                return std::make_unique<Transport>(f);
            });
    }
    ~UseFake() { taskexec_examples::mongo::set_transport_factory({}); }
};

Sentinel& password() {
    static Sentinel s("TASKEXEC_IT_MONGO_PASSWORD");
    return s;
}

json payload(const json& extra = json::object()) {
    return with({{"uri", "mongodb://db.example:27017/?directConnection=true"},
                 {"user", "backup"},
                 {"password_env", password().variable()},
                 {"acquire_timeout_ms", 1500}},
                extra);
}
json quiesce(const json& p) { return taskexec::executor("sales", "quiesce_db", "mongo", p); }
json unquiesce(const json& lease_id) {
    return taskexec::executor("sales", "unquiesce_db", "mongo", {{"lease_id", lease_id}});
}

}  // namespace

TEST_CASE("mongo: exact command documents and connection settings", "[mongo]") {
    UseFake use;
    TempDir dbpath("mongo-dbpath");
    std::ofstream(dbpath / "collection-0.wt") << "x";
    std::ofstream(dbpath / "mongod.lock") << "1";
    const json q = quiesce(payload({{"data_dir", dbpath.path().string()}}));
    REQUIRE(use.fake.commands.size() == 1);
    CHECK(use.fake.commands[0] ==
          R"({"fsync":1,"lock":true,"fsyncLockAcquisitionTimeoutMillis":1500})");
    CHECK(use.fake.connected_uri == "mongodb://db.example:27017/?directConnection=true");
    CHECK(use.fake.connected_user == "backup");
    CHECK(use.fake.connected_password == password().value());  // via password_env only
    CHECK(use.fake.connected_timeout == 1500ms);
    CHECK(q.at("lock_count") == 1);
    CHECK(q.at("files_to_copy") == json({"collection-0.wt", "mongod.lock"}));
    CHECK(q.at("exclude") == json({"mongod.lock"}));

    const json u = unquiesce(q.at("lease_id"));
    REQUIRE(use.fake.commands.size() == 2);
    CHECK(use.fake.commands[1] == R"({"fsyncUnlock":1})");
    CHECK(u.at("released_by") == "explicit");
    CHECK(u.at("lock_count_after") == 0);
    CHECK(use.fake.lock_count == 0);
}

TEST_CASE("mongo: lockCount > 1 means another holder: unlock ours once and fail", "[mongo]") {
    UseFake use;
    use.fake.lock_count = 1;  // someone else's lock
    const auto err = db_error_of([&] { quiesce(payload()); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::already_quiesced);
    const std::vector<std::string> expected{
        R"({"fsync":1,"lock":true,"fsyncLockAcquisitionTimeoutMillis":1500})",
        R"({"fsyncUnlock":1})"};
    CHECK(use.fake.commands == expected);
    CHECK(use.fake.lock_count == 1);  // theirs is untouched
}

TEST_CASE("mongo: double unquiesce sends one unlock", "[mongo]") {
    UseFake use;
    const json q = quiesce(payload());
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "explicit");
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "already_released");
    CHECK(use.fake.unlocks() == 1);
    CHECK(unquiesce("").at("released_by") == "none");
    CHECK(use.fake.count() == 2);
}

TEST_CASE("mongo: the watchdog sends one unlock; unquiesce then reports hold_expired", "[mongo]") {
    UseFake use;
    const auto start = std::chrono::steady_clock::now();
    const json q = quiesce(payload({{"max_hold_ms", 200}}));
    for (int i = 0; i < 200 && use.fake.unlocks() == 0; ++i) std::this_thread::sleep_for(5ms);
    CHECK(std::chrono::steady_clock::now() - start >= 190ms);
    CHECK(use.fake.unlocks() == 1);
    const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::hold_expired);
    CHECK(use.fake.unlocks() == 1);
    CHECK(use.fake.lock_count == 0);
}

TEST_CASE("mongo: a failed quiesce is compensated harmlessly; nothing unlocked", "[mongo]") {
    UseFake use;
    use.fake.fail = [](const Document& cmd) {
        if (cmd.contains("fsync")) throw CommandError(failure_kind::server, 24, "LockTimeout", "x");
    };
    const taskexec::RunReport r = taskexec::run_workflow("sales", "mongo", payload());
    CHECK(r.steps[0].status == taskexec::step_status::failed);
    CHECK(r.steps[0].error.at("message").get<std::string>().find(
              "acquire_timeout [code 24 (LockTimeout)]") != std::string::npos);
    REQUIRE(r.compensations.size() == 1);
    CHECK(r.compensations[0].result.at("released_by") == "none");
    CHECK(use.fake.unlocks() == 0);  // we never held it: an unlock could free someone else's
}

TEST_CASE("mongo: a server that rejects the timeout field gets the plain command", "[mongo]") {
    UseFake use;
    use.fake.fail = [](const Document& cmd) {
        if (cmd.contains("fsyncLockAcquisitionTimeoutMillis"))
            throw CommandError(failure_kind::server, 40415, "IDLUnknownField", "x");
    };
    const json q = quiesce(payload());
    REQUIRE(use.fake.commands.size() == 2);
    CHECK(use.fake.commands[1] == R"({"fsync":1,"lock":true})");
    unquiesce(q.at("lease_id"));
    CHECK(use.fake.unlocks() == 1);
    CHECK(use.fake.lock_count == 0);
}

TEST_CASE("mongo: unlock failures are reported, never retried", "[mongo]") {
    UseFake use;
    SECTION("no answer: may still be frozen") {
        const json q = quiesce(payload());
        use.fake.fail = [](const Document& cmd) {
            if (cmd.contains("fsyncUnlock")) throw CommandError(failure_kind::timeout, 4, "", "x");
        };
        const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::release_failed);
        CHECK(err->may_be_frozen());
    }
    SECTION("not locked any more: someone else unlocked it") {
        const json q = quiesce(payload());
        use.fake.lock_count = 0;  // another client's fsyncUnlock
        const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
        REQUIRE(err);
        CHECK(err->kind() == db_error_kind::session_lost);
    }
    CHECK(use.fake.unlocks() == 1);
}

TEST_CASE("mongo: a failing snapshot step still unquiesces", "[mongo]") {
    UseFake use;
    TempDir dbpath("mongo-dbpath");
    std::ofstream(dbpath / "collection-0.wt") << "x";
    const taskexec::RunReport r =
        taskexec::run_workflow("sales", "mongo",
                               payload({{"data_dir", dbpath.path().string()},
                                        {"snapshot_dir", "/proc/taskexec-unwritable/s"}}));
    CHECK(r.steps[1].status == taskexec::step_status::failed);
    REQUIRE(r.compensations.size() == 1);
    CHECK(r.compensations[0].result.at("released_by") == "explicit");
    CHECK(use.fake.unlocks() == 1);
    CHECK(use.fake.lock_count == 0);
}

TEST_CASE("mongo: the real transport refuses passwords in the URI and bounds connecting",
          "[mongo]") {
    // No fake here: libmongoc itself.
    const std::string thrown = everything_thrown([&] {
        quiesce(payload({{"uri", "mongodb://backup:hunter2-in-uri@127.0.0.1:1/"}}));
    });
    CHECK(thrown.find("config") != std::string::npos);
    CHECK(thrown.find("hunter2") == std::string::npos);

    const auto start = std::chrono::steady_clock::now();
    const auto err = db_error_of([&] {
        quiesce(payload({{"uri", "mongodb://127.0.0.1:1/?directConnection=true"},
                         {"acquire_timeout_ms", 500}}));
    });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::connect);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("mongo: the password never shows in results, errors or events", "[mongo]") {
    UseFake use;
    std::string seen;
    taskexec::RunOptions options;
    options.on_event = [&](const json& e) { seen += e.dump(); };
    TempDir dbpath("mongo-dbpath");
    std::ofstream(dbpath / "collection-0.wt") << "x";
    TempDir snap("mongo-snap");
    const taskexec::RunReport r =
        taskexec::run_workflow("sales", "mongo",
                               payload({{"data_dir", dbpath.path().string()},
                                        {"snapshot_dir", (snap.path() / "s").string()}}),
                               options);
    CHECK(r.ok);
    seen += r.to_json().dump();
    use.fake.fail = [](const Document&) { throw CommandError(failure_kind::auth, 11, "", "x"); };
    seen += everything_thrown([&] { quiesce(payload()); });
    CHECK(seen.find("permission") != std::string::npos);
    CHECK_FALSE(password().appears_in(seen));
    CHECK_FALSE(any_process_mentions(password().value()));
    CHECK(use.fake.lock_count == 0);
}
