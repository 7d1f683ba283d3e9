// tests/integration/test_mongo_live.cpp — the mongo engine against a real
// MongoDB server, when one is given.
//
//     TASKEXEC_MONGO_URI=mongodb://host:27017/?directConnection=true   (no password inside)
//     TASKEXEC_MONGO_USER=backup TASKEXEC_MONGO_PASSWORD=...           (optional)
//
// Without TASKEXEC_MONGO_URI the program prints SKIPPED and exits with 77
// before any test runs; CTest maps that to "skipped" (SKIP_RETURN_CODE 77),
// so a machine without MongoDB never counts this as passed. The server is
// really fsync-locked for a moment: point it at a throwaway mongod.
#include <mongoc/mongoc.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include <taskexec/taskexec.hpp>

#include "engine_checks.hpp"
#include "sql_workload.hpp"
#include "taskexec_catch.hpp"

namespace {

using namespace std::chrono_literals;
using taskexec::json;
using taskexec_examples::db_error_kind;
using namespace taskexec_it;

// Runs during static initialisation, before Catch2's main.
[[maybe_unused]] const bool skipped_without_server = [] {
    if (std::getenv("TASKEXEC_MONGO_URI") != nullptr) return false;
    std::cout << "SKIPPED: TASKEXEC_MONGO_URI is not set; no MongoDB server to test against\n";
    std::exit(77);
}();

std::string env_or(const char* name, const char* fallback) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : fallback;
}

json payload(const json& extra = json::object()) {
    json p = {{"uri", env_or("TASKEXEC_MONGO_URI", "")},
              {"user", env_or("TASKEXEC_MONGO_USER", "")},
              {"acquire_timeout_ms", 10000}};
    if (std::getenv("TASKEXEC_MONGO_PASSWORD") != nullptr)
        p["password_env"] = "TASKEXEC_MONGO_PASSWORD";
    return with(p, extra);
}

/// A second client of our own, for writes and probes (not the engine's code).
class Client {
public:
    Client() {
        mongoc_init();
        uri_ = mongoc_uri_new(env_or("TASKEXEC_MONGO_URI", "").c_str());
        REQUIRE(uri_ != nullptr);
        if (const char* user = std::getenv("TASKEXEC_MONGO_USER"))
            mongoc_uri_set_username(uri_, user);
        if (const char* pw = std::getenv("TASKEXEC_MONGO_PASSWORD"))
            mongoc_uri_set_password(uri_, pw);
        client_ = mongoc_client_new_from_uri(uri_);
        REQUIRE(client_ != nullptr);
    }
    ~Client() {
        mongoc_client_destroy(client_);
        mongoc_uri_destroy(uri_);
    }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Inserts one document into taskexec_it.probe; blocks while the server is locked.
    bool insert() {
        mongoc_collection_t* c = mongoc_client_get_collection(client_, "taskexec_it", "probe");
        bson_t* doc = BCON_NEW("at", BCON_INT64(static_cast<std::int64_t>(time(nullptr))));
        bson_error_t error;
        const bool ok = mongoc_collection_insert_one(c, doc, nullptr, nullptr, &error);
        bson_destroy(doc);
        mongoc_collection_destroy(c);
        return ok;
    }

private:
    mongoc_uri_t* uri_ = nullptr;
    mongoc_client_t* client_ = nullptr;
};

json quiesce(const json& p) { return taskexec::executor("sales", "quiesce_db", "mongo", p); }
json unquiesce(const json& id) {
    return taskexec::executor("sales", "unquiesce_db", "mongo", {{"lease_id", id}});
}

}  // namespace

TEST_CASE("mongo live: writes wait during the hold and complete after one unlock",
          "[mongo][live]") {
    Client writer;
    REQUIRE(writer.insert());
    const json q = quiesce(payload());
    CHECK(q.at("lock_count") == 1);
    bool inserted = false;
    Pending insert([&] { inserted = writer.insert(); });
    CHECK_FALSE(insert.done_within(500ms));
    const json u = unquiesce(q.at("lease_id"));
    CHECK(u.at("released_by") == "explicit");
    CHECK(u.at("lock_count_after") == 0);
    REQUIRE(insert.done_within(10s));
    insert.get();
    CHECK(inserted);
    CHECK(unquiesce(q.at("lease_id")).at("released_by") == "already_released");
}

TEST_CASE("mongo live: the watchdog unlocks by itself", "[mongo][live]") {
    Client writer;
    const json q = quiesce(payload({{"max_hold_ms", 500}}));
    bool inserted = false;
    Pending insert([&] { inserted = writer.insert(); });
    CHECK_FALSE(insert.done_within(200ms));
    REQUIRE(insert.done_within(10s));
    insert.get();
    CHECK(inserted);
    const auto err = db_error_of([&] { unquiesce(q.at("lease_id")); });
    REQUIRE(err);
    CHECK(err->kind() == db_error_kind::hold_expired);
}
