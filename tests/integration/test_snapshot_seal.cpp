// tests/integration/test_snapshot_seal.cpp — the copy taken under a lease is
// hashed and synced after the release (examples/tasks/snapshot_seal.hpp):
// what a run reports, when a copy is sealed at once instead, and every way
// a seal is refused — each time with the database released.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "db_error.hpp"
#include "file_copy.hpp"
#include "server_common.hpp"
#include "snapshot_seal.hpp"
#include "taskexec_catch.hpp"
#include "workload.hpp"

namespace {

namespace fs = std::filesystem;
using taskexec::json;
using taskexec_examples::db_error_kind;

json quiesce(const taskexec_it::SqliteDb& db) {
    return taskexec::executor("sales", "quiesce_db", "sqlite", {{"path", db.path()}});
}

json copy_files(const json& quiesced, const std::string& snapshot_dir,
                json extra = json::object()) {
    return taskexec::executor(
        "sales", "snapshot_files", "sqlite",
        taskexec_it::merged(taskexec_it::merged(quiesced, {{"snapshot_dir", snapshot_dir}}),
                            extra));
}

/// unquiesce_db given the copy's result, as a run gives it (sealed: false).
json unquiesce(const json& lease_id, const std::string& snapshot_dir) {
    return taskexec::executor(
        "sales", "unquiesce_db", "sqlite",
        {{"lease_id", lease_id}, {"snapshot_dir", snapshot_dir}, {"sealed", false}});
}

fs::path marker_in(const std::string& snapshot_dir) {
    return fs::path(snapshot_dir) / taskexec_examples::seal_marker_name;
}

fs::path manifest_in(const std::string& snapshot_dir) {
    return fs::path(snapshot_dir) / taskexec_examples::snapshot_manifest_name;
}

/// The manifest's files, read back from the snapshot directory.
json manifest_files(const std::string& snapshot_dir) {
    std::ifstream in(manifest_in(snapshot_dir));
    return json::parse(in).at("files");
}

/// snapshot_files without a database: `files` of `source` into `snapshot_dir`.
json copy_plain(const fs::path& source, const json& files, const std::string& snapshot_dir,
                const json& extra = json::object()) {
    return taskexec::executor("sales", "snapshot_files", "sqlite",
                              taskexec_it::merged({{"source_dir", source.string()},
                                                   {"files_to_copy", files},
                                                   {"snapshot_dir", snapshot_dir}},
                                                  extra));
}

/// The `path` of each file a snapshot_files result lists.
json copied_paths(const json& result) {
    json paths = json::array();
    for (const json& f : result["files"]) paths.push_back(f["path"]);
    return paths;
}

/// The db_error inside what `fn` threw (a task_failed error).
template <class Fn>
std::optional<taskexec_examples::db_error> db_error_thrown(Fn&& fn) {
    try {
        fn();
    } catch (const taskexec::error& e) {
        CHECK(e.code() == taskexec::errc::task_failed);
        return taskexec_examples::find_db_error(e);
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("seal: a sales run copies under the hold and hashes after the release",
          "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("wal", 200);
    const taskexec::RunReport report = taskexec::run_workflow(
        "sales", "sqlite", {{"path", db.path()}, {"snapshot_dir", db.snapshot_dir()}});
    INFO(report.to_json().dump());
    REQUIRE(report.ok);
    const json& copied = report.steps[1].result;
    const json& released = report.steps[2].result;
    CHECK(copied["sealed"] == false);
    for (const json& f : copied["files"]) CHECK_FALSE(f.contains("sha256"));

    REQUIRE(released.contains("snapshot"));
    const json& sealed = released["snapshot"];
    CHECK(sealed["snapshot_dir"] == copied["snapshot_dir"]);
    CHECK(sealed["total_bytes"] == copied["total_bytes"]);
    REQUIRE(sealed["files"].size() == copied["files"].size());
    for (std::size_t i = 0; i < sealed["files"].size(); ++i) {
        const json& f = sealed["files"][i];
        CHECK(f["path"] == copied["files"][i]["path"]);
        CHECK(f["size"] == copied["files"][i]["size"]);
        CHECK(f["sha256"].get<std::string>() ==
              taskexec_examples::sha256_file(fs::path(db.snapshot_dir()) /
                                             f["path"].get<std::string>()));
    }
    CHECK_FALSE(fs::exists(marker_in(db.snapshot_dir())));
    CHECK(manifest_files(db.snapshot_dir()) == sealed["files"]);  // recorded in the snapshot too
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("seal: without a lease, or with hash_during_hold, the copy is hashed at once",
          "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("delete", 50);
    const std::string source_dir = fs::canonical(db.dir()).string();

    SECTION("no lease: a copy of files nobody writes") {
        const json s = copy_plain(source_dir, {"sales.db"}, db.snapshot_dir());
        CHECK(s["sealed"] == true);
        REQUIRE(s["files"].size() == 1);
        CHECK(s["files"][0]["sha256"] == taskexec_examples::sha256_file(db.path()));
        CHECK_FALSE(fs::exists(marker_in(db.snapshot_dir())));
        CHECK(manifest_files(db.snapshot_dir()) == s["files"]);
    }
    SECTION("hash_during_hold under a lease") {
        const json q = quiesce(db);
        const json s = copy_files(q, db.snapshot_dir(), {{"hash_during_hold", true}});
        CHECK(s["sealed"] == true);
        CHECK(s["files"][0]["sha256"] == taskexec_examples::sha256_file(db.path()));
        CHECK_FALSE(fs::exists(marker_in(db.snapshot_dir())));
        CHECK(manifest_files(db.snapshot_dir()) == s["files"]);
        const json u = taskexec::executor("sales", "unquiesce_db", "sqlite",
                                          taskexec_it::merged(s, {{"lease_id", q["lease_id"]}}));
        CHECK(u["released_by"] == "explicit");
        CHECK_FALSE(u.contains("snapshot"));  // nothing was left to seal
    }
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("seal: a release that is not explicit leaves the copy unsealed",
          "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("delete", 2000);

    SECTION("the watchdog released first") {
        const taskexec::RunReport report =
            taskexec::run_workflow("sales", "sqlite",
                                   {{"path", db.path()},
                                    {"snapshot_dir", db.snapshot_dir()},
                                    {"max_hold_ms", 100},
                                    {"max_bytes_per_s", 256 << 10}});
        INFO(report.to_json().dump());
        CHECK_FALSE(report.ok);
        CHECK(report.steps[1].status == taskexec::step_status::ok);
        CHECK(report.steps[2].status == taskexec::step_status::failed);
        CHECK(fs::exists(marker_in(db.snapshot_dir())));  // recognisably not a snapshot
        CHECK_FALSE(fs::exists(manifest_in(db.snapshot_dir())));
    }
    SECTION("unquiesce without the copy's result (its compensation after a failed copy)") {
        const json q = quiesce(db);
        copy_files(q, db.snapshot_dir());
        // snapshot_dir alone is not enough: only a successful snapshot_files
        // result (sealed: false) asks for the seal.
        const json u =
            taskexec::executor("sales", "unquiesce_db", "sqlite",
                               {{"lease_id", q["lease_id"]}, {"snapshot_dir", db.snapshot_dir()}});
        CHECK(u["released_by"] == "explicit");
        CHECK_FALSE(u.contains("snapshot"));
        // A repeat never seals: its release is not the one the copy was under.
        const json again = unquiesce(q["lease_id"], db.snapshot_dir());
        CHECK(again["released_by"] == "already_released");
        CHECK_FALSE(again.contains("snapshot"));
        CHECK(fs::exists(marker_in(db.snapshot_dir())));
        CHECK_FALSE(fs::exists(manifest_in(db.snapshot_dir())));
    }
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("seal: unquiesce of one lease from several threads releases and seals once",
          "[sqlite][integration][seal]") {
    // A run's compensation and an operator's retry can meet: exactly one of
    // them is the explicit release, and only that one seals.
    taskexec_it::SqliteDb db("wal", 200);
    const json q = quiesce(db);
    copy_files(q, db.snapshot_dir());
    REQUIRE(fs::exists(marker_in(db.snapshot_dir())));

    constexpr int callers = 4;
    std::latch start(callers);
    std::vector<json> results(callers);
    std::atomic<int> failures{0};
    {
        std::vector<std::jthread> threads;
        for (int i = 0; i < callers; ++i) {
            threads.emplace_back([&, i] {
                start.arrive_and_wait();
                try {
                    results[static_cast<std::size_t>(i)] =
                        unquiesce(q["lease_id"], db.snapshot_dir());
                } catch (...) {
                    failures.fetch_add(1);
                }
            });
        }
    }
    CHECK(failures.load() == 0);
    int explicit_releases = 0, seals = 0;
    for (const json& r : results) {
        INFO(r.dump());
        const std::string by = r.value("released_by", "");
        CHECK((by == "explicit" || by == "already_released"));
        explicit_releases += by == "explicit" ? 1 : 0;
        seals += r.contains("snapshot") ? 1 : 0;
        if (r.contains("snapshot")) CHECK(by == "explicit");
    }
    CHECK(explicit_releases == 1);
    CHECK(seals == 1);
    CHECK_FALSE(fs::exists(marker_in(db.snapshot_dir())));
    CHECK(fs::exists(manifest_in(db.snapshot_dir())));
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE("seal: a run cancelled while unquiesce_db seals stops the seal, after the release",
          "[sqlite][integration][seal]") {
    // The seal runs after the release, so stopping it holds nothing up: a
    // cancelled run must not wait for a copy of many GB to be hashed.
    taskexec_it::SqliteDb db("wal", 200);
    std::stop_source cancel;
    taskexec::RunOptions options;
    options.stop = cancel.get_token();
    options.on_event = [&](const json& e) {
        // The engine is called right after this event, with the token set.
        if (e.value("event", "") == "step_started" && e.value("task", "") == "unquiesce_db")
            cancel.request_stop();
    };
    const taskexec::RunReport report = taskexec::run_workflow(
        "sales", "sqlite", {{"path", db.path()}, {"snapshot_dir", db.snapshot_dir()}}, options);
    INFO(report.to_json().dump());
    CHECK_FALSE(report.ok);
    CHECK(report.steps[1].status == taskexec::step_status::ok);
    CHECK(report.steps[2].status == taskexec::step_status::cancelled);
    // Not sealed: an uncancellable seal would have written the manifest and
    // removed the marker before returning.
    CHECK(fs::exists(marker_in(db.snapshot_dir())));
    CHECK_FALSE(fs::exists(manifest_in(db.snapshot_dir())));
    // Released all the same, by unquiesce_db itself.
    CHECK(taskexec_it::write_lock_free(db.path()));
    CHECK(unquiesce(report.steps[0].result["lease_id"], db.snapshot_dir())["released_by"] ==
          "already_released");
}

TEST_CASE("seal: a marker of another lease is left alone", "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb first("wal", 20);
    taskexec_it::SqliteDb second("wal", 20);
    const json q1 = quiesce(first);
    const json q2 = quiesce(second);
    copy_files(q1, first.snapshot_dir());
    const json u2 = unquiesce(q2["lease_id"], first.snapshot_dir());
    CHECK(u2["released_by"] == "explicit");
    CHECK_FALSE(u2.contains("snapshot"));
    CHECK(fs::exists(marker_in(first.snapshot_dir())));
    const json u1 = unquiesce(q1["lease_id"], first.snapshot_dir());
    CHECK(u1.contains("snapshot"));
    CHECK_FALSE(fs::exists(marker_in(first.snapshot_dir())));
    CHECK(taskexec_it::write_lock_free(first.path()));
    CHECK(taskexec_it::write_lock_free(second.path()));
}

TEST_CASE("seal: a copy changed or a marker tampered with is refused, after the release",
          "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("wal", 50);
    const json q = quiesce(db);
    const std::string secret_dir = (db.dir() / "snap-sentinel-8f3a").string();
    const json s = copy_files(q, secret_dir);
    REQUIRE(s["sealed"] == false);

    SECTION("a copied file grew") {
        std::ofstream(fs::path(secret_dir) / "sales.db", std::ios::app) << "tampered";
    }
    SECTION("a copied file was replaced by another of the same size") {
        const fs::path copy = fs::path(secret_dir) / "sales.db";
        fs::copy_file(copy, fs::path(secret_dir) / "other");
        fs::rename(fs::path(secret_dir) / "other", copy);
    }
    SECTION("a copied file gained a hard link") {
        fs::create_hard_link(fs::path(secret_dir) / "sales.db", db.dir() / "hard-link");
    }
    SECTION("the marker is a link to a file elsewhere") {
        const fs::path elsewhere = db.dir() / "marker-elsewhere.json";
        fs::rename(marker_in(secret_dir), elsewhere);
        fs::create_symlink(elsewhere, marker_in(secret_dir));
    }
    SECTION("the marker is larger than any marker we write") {
        fs::remove(marker_in(secret_dir));
        std::ofstream(marker_in(secret_dir)) << std::string(9 << 20, ' ');
    }
    SECTION("a marker path leaves the snapshot") {
        fs::remove(marker_in(secret_dir));
        std::ofstream(marker_in(secret_dir))
            << json{{"lease_id", q["lease_id"]},
                    {"files",
                     {{{"path", "../sales.db"}, {"size", 1}, {"device", 0}, {"inode", 0}}}}}
                   .dump();
    }
    SECTION("a copied file was replaced by a link") {
        fs::remove(fs::path(secret_dir) / "sales.db");
        fs::create_symlink(db.path(), fs::path(secret_dir) / "sales.db");
    }
    SECTION("a marker entry of the wrong shape") {
        fs::remove(marker_in(secret_dir));
        std::ofstream(marker_in(secret_dir))
            << json{{"lease_id", q["lease_id"]},
                    {"files", {{{"path", "sales.db"}, {"size", "big"}}}}}
                   .dump();
    }
    SECTION("a marker path through a link to a directory outside") {
        fs::create_directory_symlink(db.dir(), fs::path(secret_dir) / "out");
        fs::remove(marker_in(secret_dir));
        std::ofstream(marker_in(secret_dir)) << json{
            {"lease_id", q["lease_id"]},
            {"files",
             {{{"path", "out/sales.db"},
               {"size", fs::file_size(db.path())},
               {"device", 0},
               {"inode", 0}}}}}.dump();
    }
    SECTION("the marker is not JSON") {
        fs::remove(marker_in(secret_dir));
        std::ofstream(marker_in(secret_dir)) << "{not json";
    }
    std::string outer_text;
    const auto error = db_error_thrown([&] {
        try {
            unquiesce(q["lease_id"], secret_dir);
        } catch (const taskexec::error& e) {
            outer_text = std::string(e.what()) + e.to_json().dump();
            throw;
        }
    });
    REQUIRE(error.has_value());
    CHECK(error->kind() == db_error_kind::precondition);
    CHECK(error->where().step == "seal");
    for (const std::string& text : {std::string(error->what()), outer_text}) {
        CHECK(text.find("sentinel-8f3a") == std::string::npos);
        CHECK(text.find("sales.db") == std::string::npos);
    }
    CHECK_FALSE(outer_text.empty());
    CHECK_FALSE(fs::exists(manifest_in(secret_dir)));
    // The release came first: the database is writable, the lease retired.
    CHECK(taskexec_it::write_lock_free(db.path()));
    CHECK(unquiesce(q["lease_id"], secret_dir)["released_by"] == "already_released");
    CHECK(fs::exists(marker_in(secret_dir)));
}

TEST_CASE("seal: the snapshot's own file names are refused in the copy, before anything is lost",
          "[sqlite][integration][seal]") {
    // A source directory that holds an earlier snapshot has files named like
    // the manifest and the marker. At the top of snapshot_dir they would
    // collide with this copy's record — or, the marker copied without a
    // lease, leave a sealed snapshot that looks unfinished forever.
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path source = fs::canonical(db.dir()) / "data";
    fs::create_directories(source / "nested");
    std::ofstream(source / "table.bin") << "rows";
    std::ofstream(source / taskexec_examples::seal_marker_name) << "{\"old\": \"marker\"}";
    std::ofstream(source / taskexec_examples::snapshot_manifest_name) << "{\"old\": \"manifest\"}";
    std::ofstream(source / "nested" / taskexec_examples::snapshot_manifest_name) << "{}";
    fs::create_directories(source / "deep" / "er");
    std::ofstream(source / "deep" / "er" / "file.bin") << "deep";
    const std::string snapshot_dir = db.snapshot_dir();
    auto copy = [&](const json& files, const json& extra) {
        return copy_plain(source, files, snapshot_dir, extra);
    };
    const json exclude_both = {
        {"exclude",
         {taskexec_examples::seal_marker_name, taskexec_examples::snapshot_manifest_name}}};

    SECTION("named in files_to_copy, or met at the top of a copied directory") {
        for (const json& files :
             {json{"table.bin", taskexec_examples::seal_marker_name},
              json{"deep/er/file.bin", taskexec_examples::seal_marker_name},
              json{"./" + std::string(taskexec_examples::snapshot_manifest_name)}, json{"."}}) {
            INFO(files.dump());
            const auto error = db_error_thrown([&] { copy(files, json::object()); });
            REQUIRE(error.has_value());
            CHECK(error->kind() == db_error_kind::config);
            CHECK(error->where().step == "copy");
            CHECK(std::string(error->what()).find("'exclude'") != std::string::npos);
            // Nothing is left behind: no half copy, no record, no directory.
            CHECK_FALSE(fs::exists(snapshot_dir));  // made by the copy, removed with it
        }
    }
    SECTION("a directory of that name on the way to a listed file") {
        const fs::path other = fs::canonical(db.dir()) / "other";
        for (const std::string_view name :
             {taskexec_examples::seal_marker_name, taskexec_examples::snapshot_manifest_name}) {
            INFO(name);
            fs::create_directories(other / name);
            std::ofstream(other / name / "x") << "x";
            const auto error = db_error_thrown(
                [&] { copy_plain(other, {std::string(name) + "/x"}, snapshot_dir); });
            REQUIRE(error.has_value());
            CHECK(error->kind() == db_error_kind::config);
            CHECK(error->where().step == "copy");
            CHECK_FALSE(fs::exists(snapshot_dir));
        }
    }
    SECTION("a snapshot_dir made with its parents is removed with them") {
        const fs::path parent = db.dir() / "made-by-the-copy";
        const auto error = db_error_thrown([&] {
            copy_plain(source, {"table.bin", taskexec_examples::seal_marker_name},
                       (parent / "two" / "snap").string());
        });
        REQUIRE(error.has_value());
        CHECK_FALSE(fs::exists(parent));
        CHECK(fs::exists(db.dir()));  // what was there before stays
    }
    SECTION("under a lease the database is released and nothing is left") {
        const json q = quiesce(db);
        const auto error = db_error_thrown([&] { copy(json{"."}, {{"lease_id", q["lease_id"]}}); });
        REQUIRE(error.has_value());
        CHECK(error->kind() == db_error_kind::config);
        CHECK_FALSE(fs::exists(snapshot_dir));
        // The compensation a run sends after a failed copy: the lease alone.
        const json u =
            taskexec::executor("sales", "unquiesce_db", "sqlite", {{"lease_id", q["lease_id"]}});
        CHECK(u["released_by"] == "explicit");
    }
    SECTION("excluded (by name, at any depth), the rest is copied") {
        const json s = copy(json{"."}, exclude_both);
        CHECK(s["sealed"] == true);
        // Paths as if "." were not written.
        CHECK(copied_paths(s) == json{"deep/er/file.bin", "table.bin"});
        CHECK_FALSE(fs::exists(marker_in(snapshot_dir)));
        CHECK(manifest_files(snapshot_dir) == s["files"]);
    }
    SECTION("below the top, files of those names are ordinary files") {
        const json s = copy(json{"nested", "table.bin"}, json::object());
        CHECK(copied_paths(s) == json{"nested/.taskexec-snapshot.json", "table.bin"});
        CHECK(manifest_files(snapshot_dir) == s["files"]);
    }
    SECTION("a snapshot_dir holding only a marker, or a dangling link of that name, is refused") {
        fs::create_directories(snapshot_dir);
        SECTION("a marker") { std::ofstream(marker_in(snapshot_dir)) << "{}"; }
        SECTION("a dangling link") {
            fs::create_symlink(db.dir() / "nowhere", manifest_in(snapshot_dir));
        }
        const auto error = db_error_thrown([&] { copy(json{"table.bin"}, json::object()); });
        REQUIRE(error.has_value());
        CHECK(error->kind() == db_error_kind::precondition);
        CHECK_FALSE(fs::exists(fs::path(snapshot_dir) / "table.bin"));
    }
    SECTION("a snapshot_dir that is not empty is refused: a link in it would lead out") {
        fs::create_directories(snapshot_dir);
        const fs::path elsewhere = db.dir() / "elsewhere";
        fs::create_directories(elsewhere);
        fs::create_directory_symlink(elsewhere, fs::path(snapshot_dir) / "deep");
        const auto error = db_error_thrown([&] { copy(json{"deep/er/file.bin"}, json::object()); });
        REQUIRE(error.has_value());
        CHECK(error->kind() == db_error_kind::precondition);
        CHECK(error->where().step == "destination");
        CHECK(fs::is_empty(elsewhere));  // nothing written through the link
    }
    SECTION("a snapshot_dir that already holds a snapshot is refused before copying") {
        copy(json{"table.bin"}, json::object());
        REQUIRE(fs::exists(manifest_in(snapshot_dir)));
        fs::rename(fs::path(snapshot_dir) / "table.bin", fs::path(snapshot_dir) / "kept.bin");
        const auto error = db_error_thrown([&] { copy(json{"table.bin"}, json::object()); });
        REQUIRE(error.has_value());
        CHECK(error->kind() == db_error_kind::precondition);
        CHECK(error->where().step == "destination");
        CHECK_FALSE(fs::exists(fs::path(snapshot_dir) / "table.bin"));  // not copied at all
        CHECK(fs::exists(fs::path(snapshot_dir) / "kept.bin"));         // the old one untouched
        CHECK(fs::exists(manifest_in(snapshot_dir)));
    }
    CHECK(taskexec_it::write_lock_free(db.path()));
}

TEST_CASE(
    "seal: snapshot_files walks in normal form, never into snapshot_dir, never through a link",
    "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path source = fs::canonical(db.dir()) / "data";
    const fs::path snapshot = source / "snap";  // inside the source
    fs::create_directories(source / "sub");
    std::ofstream(source / "table.bin") << "rows";
    std::ofstream(source / "sub" / "part.bin") << "part";
    fs::create_directories(db.dir() / "outside");
    std::ofstream(db.dir() / "outside" / "secret.bin") << "not part of the copy";
    fs::create_directory_symlink(db.dir() / "outside", source / "outside_link");
    fs::create_directory_symlink(source, source / "self");
    // A FIFO named like the marker: skipped like any FIFO, so it never lands.
    REQUIRE(::mkfifo((source / taskexec_examples::seal_marker_name).c_str(), 0600) == 0);
    auto copy = [&](const json& files, const json& extra) {
        return copy_plain(source, files, snapshot.string(), extra);
    };

    SECTION("'.' with snapshot_dir inside source_dir: everything but the snapshot") {
        const json s = copy(json{"."}, json::object());
        CHECK(copied_paths(s) == json{"sub/part.bin", "table.bin"});
        CHECK(s["links"] == json{"outside_link", "self"});
        CHECK(s["skipped"] == json{taskexec_examples::seal_marker_name});
        CHECK_FALSE(fs::exists(snapshot / "snap"));
        CHECK(fs::is_symlink(snapshot / "outside_link"));
        CHECK(manifest_files(snapshot.string()) == s["files"]);
    }
    SECTION("snapshot_dir listed itself is left out") {
        const json s = copy(json{"snap", "./table.bin"}, json::object());
        CHECK(copied_paths(s) == json{"table.bin"});
        CHECK_FALSE(fs::exists(snapshot / "snap"));
    }
    SECTION("trailing separators: a link stays a link, a directory is itself") {
        const json s = copy(json{"outside_link/", "sub/"}, json::object());
        CHECK(copied_paths(s) == json{"sub/part.bin"});
        CHECK(s["links"] == json{"outside_link"});
        CHECK(fs::is_symlink(snapshot / "outside_link"));  // not followed out of source_dir
    }
    SECTION("an entry through a link is refused before anything is copied") {
        // Out of source_dir, or (self/snap) into snapshot_dir itself.
        for (const char* entry : {"outside_link/secret.bin", "self/snap", "self/table.bin"}) {
            INFO(entry);
            const auto error = db_error_thrown([&] {
                copy(json{"table.bin", entry}, json::object());
            });
            REQUIRE(error.has_value());
            CHECK(error->kind() == db_error_kind::config);
            CHECK(error->where().step == "validate");
            CHECK_FALSE(fs::exists(snapshot));  // refused before it was made
        }
    }
    SECTION("trailing separators: exclude matches the name") {
        const json s = copy(json{"sub/", "table.bin"}, {{"exclude", {"sub"}}});
        CHECK(copied_paths(s) == json{"table.bin"});
        CHECK_FALSE(fs::exists(snapshot / "sub"));
    }
}

TEST_CASE("seal: a directory swapped for a link while snapshot_files walks never leads it out",
          "[sqlite][integration][seal]") {
    // Someone who can write in source_dir (the database's own user) swaps a
    // directory for a link to one outside once the copy is inside it. The
    // copy is throttled, so the swap lands between two files. Walking by
    // path, the files after the swap were read through the link; walking by
    // descriptor, the copy keeps reading the directory it opened.
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path source = fs::canonical(db.dir()) / "data";
    const fs::path outside = fs::canonical(db.dir()) / "outside";
    const fs::path snapshot = fs::canonical(db.dir()) / "snap";
    const fs::path deep = source / "sub" / "deep";
    fs::create_directories(deep);
    fs::create_directories(outside);
    const std::string inside(256 << 10, 'i'), secret(256 << 10, 's');
    constexpr int files = 6;
    json expected = json::array();
    for (int i = 0; i < files; ++i) {
        const std::string name = "f" + std::to_string(i) + ".bin";
        std::ofstream(deep / name) << inside;
        std::ofstream(outside / name) << secret;
        expected.push_back("sub/deep/" + name);
    }

    // Errors in the thread are reported, not thrown (that would end the
    // whole test program).
    std::atomic<int> copied_at_swap{-1};
    std::atomic<bool> swap_failed{false};
    std::jthread swapper([&](std::stop_token stop) {
        // Once the first file of deep/ is being copied, deep/ is open.
        std::error_code ec;
        auto started = [&] {
            const bool made = fs::exists(snapshot / "sub" / "deep", ec);
            return made && !ec && !fs::is_empty(snapshot / "sub" / "deep", ec) && !ec;
        };
        while (!started()) {
            if (stop.stop_requested()) return;  // the copy ended first
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        fs::rename(deep, source / "moved_away", ec);
        if (!ec) fs::create_directory_symlink(outside, deep, ec);
        if (ec) {
            swap_failed = true;
            return;
        }
        int present = 0;
        for (auto it = fs::directory_iterator(snapshot / "sub" / "deep", ec);
             !ec && it != fs::directory_iterator(); it.increment(ec))
            ++present;
        swap_failed = static_cast<bool>(ec);
        copied_at_swap = present;
    });
    // 256 KiB at 1 MiB/s: a quarter of a second per file for the swap to land.
    const json s = copy_plain(source, {"sub"}, snapshot.string(), {{"max_bytes_per_s", 1 << 20}});
    swapper.request_stop();
    swapper.join();
    INFO("files begun when the swap was done: " << copied_at_swap.load());
    REQUIRE_FALSE(swap_failed.load());
    REQUIRE(fs::is_symlink(deep));           // the swap happened during the copy,
    REQUIRE(copied_at_swap.load() < files);  // before the last file was opened
    CHECK(copied_paths(s) == expected);
    for (const json& f : s["files"]) {
        std::ifstream in(snapshot / f["path"].get<std::string>());
        const std::string content((std::istreambuf_iterator<char>(in)), {});
        INFO(f["path"]);
        const bool from_inside = content == inside;  // (not printed: 256 KiB)
        CHECK(from_inside);                          // never the outside file
        const fs::path original =
            source / "moved_away" / fs::path(f["path"].get<std::string>()).filename();
        CHECK(f["sha256"] == taskexec_examples::sha256_file(original));
    }
}

TEST_CASE(
    "seal: a failed copy removes what it made, never through a link swapped into snapshot_dir",
    "[sqlite][integration][seal]") {
    // snapshot_dir inside source_dir: whoever writes source_dir can rename
    // inside snapshot_dir too. Mid-copy, a directory the copy made is
    // swapped for a link to one outside holding files of the same names,
    // and the rest of the source vanishes, so the copy fails and undoes.
    // Removing by path went through the link and deleted the outside files.
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path source = fs::canonical(db.dir()) / "data";
    const fs::path snapshot = source / "snap";
    const fs::path outside = fs::canonical(db.dir()) / "outside";
    fs::create_directories(source / "sub");
    fs::create_directories(outside);
    constexpr int files = 6;
    for (int i = 0; i < files; ++i) {
        const std::string name = "f" + std::to_string(i) + ".bin";
        std::ofstream(source / "sub" / name) << std::string(256 << 10, 'i');
        std::ofstream(outside / name) << "keep me";
    }
    std::atomic<bool> swapped{false};
    std::jthread swapper([&](std::stop_token stop) {
        std::error_code ec;  // reported through `swapped`, never thrown
        auto started = [&] {
            const bool made = fs::exists(snapshot / "sub", ec);
            return made && !ec && !fs::is_empty(snapshot / "sub", ec) && !ec;
        };
        while (!started()) {
            if (stop.stop_requested()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        fs::rename(snapshot / "sub", snapshot / "moved", ec);
        if (ec) return;
        fs::create_directory_symlink(outside, snapshot / "sub", ec);
        if (ec) return;
        for (int i = 0; i < files; ++i)  // the files not copied yet now fail to open
            fs::remove(source / "sub" / ("f" + std::to_string(i) + ".bin"), ec);
        swapped = true;
    });
    const auto error = db_error_thrown([&] {
        copy_plain(source, {"sub"}, snapshot.string(), {{"max_bytes_per_s", 1 << 20}});
    });
    swapper.request_stop();
    swapper.join();
    REQUIRE(swapped.load());
    REQUIRE(error.has_value());
    CHECK(error->kind() == db_error_kind::precondition);
    for (int i = 0; i < files; ++i) {
        const fs::path kept = outside / ("f" + std::to_string(i) + ".bin");
        INFO(kept.filename().string());
        CHECK(fs::exists(kept));
    }
    CHECK(fs::is_symlink(snapshot / "sub"));  // left alone, not followed
}

TEST_CASE("seal: a snapshot_dir inside source_dir that is a link is refused, nothing written",
          "[sqlite][integration][seal]") {
    // Whoever writes source_dir can put a link where snapshot_dir is to be
    // made, to an empty directory elsewhere; made and opened by descriptor
    // from source_dir, snapshot_dir is never reached through it.
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path source = fs::canonical(db.dir()) / "data";
    const fs::path elsewhere = fs::canonical(db.dir()) / "elsewhere";
    fs::create_directories(source / "sub");
    fs::create_directories(elsewhere / "empty");
    std::ofstream(source / "sub" / "table.bin") << "rows";
    fs::create_directory_symlink(elsewhere / "empty", source / "snap");
    fs::create_directory_symlink(elsewhere, source / "up");
    for (const char* snapshot : {"snap", "up/empty", "up/new"}) {
        INFO(snapshot);
        const auto error =
            db_error_thrown([&] { copy_plain(source, {"sub"}, (source / snapshot).string()); });
        REQUIRE(error.has_value());
        CHECK(error->kind() == db_error_kind::precondition);
        CHECK(error->where().step == "destination");
        CHECK(fs::is_empty(elsewhere / "empty"));
        CHECK_FALSE(fs::exists(elsewhere / "new"));
    }
    // A snapshot_dir inside source_dir written through a link to it (as
    // quiesce_db reports source_dir resolved) is where it really is: made
    // from source_dir's handle, and works.
    fs::create_directory_symlink(source, elsewhere / "back");
    const json s = copy_plain(source, {"sub"}, (elsewhere / "back" / "snap2").string());
    CHECK(s["snapshot_dir"] == (source / "snap2").string());
    CHECK(copied_paths(s) == json{"sub/table.bin"});
    CHECK(fs::exists(source / "snap2" / "sub" / "table.bin"));

    // An operator's link into source_dir on the way is followed; from
    // source_dir on nothing is: a link planted below it is refused.
    fs::create_directory_symlink(source / "snapshots", elsewhere / "snaps");
    fs::create_directories(elsewhere / "x");
    fs::create_directory_symlink(elsewhere / "x", source / "snapshots");
    const fs::path today = elsewhere / "snaps" / "today";
    const auto planted = db_error_thrown([&] { copy_plain(source, {"sub"}, today.string()); });
    REQUIRE(planted.has_value());
    CHECK(planted->kind() == db_error_kind::precondition);
    CHECK(planted->where().step == "destination");
    CHECK(fs::is_empty(elsewhere / "x"));
    fs::remove(source / "snapshots");
    fs::create_directory(source / "snapshots");
    const json real = copy_plain(source, {"sub"}, today.string());
    CHECK(real["snapshot_dir"] == (source / "snapshots" / "today").string());

    // source_dir itself, spelled with '..'; a regular file on the way.
    for (const fs::path& path : {source / "sub" / "..", source / "sub" / "table.bin" / "snap"}) {
        INFO(path.string());
        const auto refused = db_error_thrown([&] { copy_plain(source, {"sub"}, path.string()); });
        REQUIRE(refused.has_value());
        CHECK(refused->kind() ==
              (path.filename() == ".." ? db_error_kind::config : db_error_kind::precondition));
    }
}

TEST_CASE("seal: a copied name JSON cannot hold fails the record, and nothing is left",
          "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path source = fs::canonical(db.dir()) / "data";
    fs::create_directories(source);
    std::ofstream(source / "table.bin") << "rows";
    std::ofstream(source / "\xff.bin") << "a name that is not UTF-8";
    for (const json& extra : {json::object(), json{{"lease_id", "l"}}}) {
        INFO(extra.dump());
        const auto error =
            db_error_thrown([&] { copy_plain(source, {"."}, db.snapshot_dir(), extra); });
        REQUIRE(error.has_value());
        CHECK(error->kind() == db_error_kind::precondition);
        CHECK(error->where().step == "record");
        CHECK_FALSE(fs::exists(db.snapshot_dir()));
    }
}

TEST_CASE("seal: a source file that is a link or a FIFO when opened is refused, without blocking",
          "[sqlite][integration][seal]") {
    // The walk saw a regular file; by the time the copy opens it, it may be
    // something else. A link is not followed; a FIFO does not block the open.
    taskexec_it::SqliteDb db("delete", 20);
    const fs::path dir = fs::canonical(db.dir());
    std::ofstream(dir / "secret.bin") << "not to be copied";
    fs::create_symlink(dir / "secret.bin", dir / "link.bin");
    REQUIRE(::mkfifo((dir / "fifo.bin").c_str(), 0600) == 0);
    for (const char* name : {"link.bin", "fifo.bin"}) {
        INFO(name);
        const fs::path copy = dir / (std::string("copy_") + name);
        for (const bool fast : {true, false}) {
            const auto copy_it =
                fast ? &taskexec_examples::copy_file_fast : &taskexec_examples::copy_file_hashed;
            CHECK_THROWS_AS(copy_it(dir / name, copy, {}), std::system_error);
            CHECK_FALSE(fs::exists(fs::symlink_status(copy)));
        }
    }
}

TEST_CASE("seal: a server engine's files_to_copy leaves a snapshot's records out",
          "[integration][seal]") {
    // A data directory restored from a snapshot holds them at its top; listed,
    // every sales run would freeze the database, then fail at the copy.
    taskexec_it::TempDir tmp("taskexec-listing");
    const fs::path datadir = tmp.path() / "datadir";
    fs::create_directories(datadir / "base");
    std::ofstream(datadir / "PG_VERSION") << "15";
    std::ofstream(datadir / taskexec_examples::snapshot_manifest_name) << "{}";
    std::ofstream(datadir / taskexec_examples::seal_marker_name) << "{}";
    const json names =
        taskexec_examples::server::list_entries(datadir, {"postgres", "quiesce_db", "list_files"});
    CHECK(names == json{"PG_VERSION", "base"});
}

TEST_CASE("seal: a stopped seal keeps the marker; sealing the same copy later completes",
          "[sqlite][integration][seal]") {
    taskexec_it::SqliteDb db("wal", 50);
    const json q = quiesce(db);
    // An empty file: the stop is checked before each read, not only after
    // one that returned bytes.
    const fs::path source = fs::canonical(db.dir()) / "data";
    fs::create_directories(source);
    std::ofstream(source / "empty.bin").flush();
    const std::string secret_dir = (db.dir() / "snap-sentinel-5c1d").string();
    const json s = copy_plain(source, {"empty.bin"}, secret_dir, {{"lease_id", q["lease_id"]}});
    REQUIRE(s["sealed"] == false);
    // Released without the copy's result: nothing is sealed, now or later.
    const json u =
        taskexec::executor("sales", "unquiesce_db", "sqlite", {{"lease_id", q["lease_id"]}});
    REQUIRE(u["released_by"] == "explicit");
    CHECK_FALSE(unquiesce(q["lease_id"], secret_dir).contains("snapshot"));
    REQUIRE(fs::exists(marker_in(secret_dir)));
    const std::string lease_id = q["lease_id"].get<std::string>();
    const taskexec_examples::db_where where{"sqlite", "unquiesce_db", "seal"};

    std::stop_source stopped;
    stopped.request_stop();
    std::optional<taskexec_examples::db_error> error;
    try {
        taskexec_examples::seal_snapshot(secret_dir, lease_id, where, stopped.get_token());
    } catch (const taskexec_examples::db_error& e) {
        error = e;
    }
    REQUIRE(error.has_value());
    CHECK(error->kind() == db_error_kind::cancelled);
    CHECK(error->where().step == "seal");
    CHECK(std::string(error->what()).find("sentinel-5c1d") == std::string::npos);
    CHECK(std::string(error->what()).find("empty.bin") == std::string::npos);
    CHECK(fs::exists(marker_in(secret_dir)));
    CHECK_FALSE(fs::exists(manifest_in(secret_dir)));

    const std::optional<json> sealed =
        taskexec_examples::seal_snapshot(secret_dir, lease_id, where);
    REQUIRE(sealed.has_value());
    CHECK((*sealed)["files"] ==
          json{{{"path", "empty.bin"},
                {"size", 0},
                {"sha256", taskexec_examples::sha256_file(source / "empty.bin")}}});
    CHECK_FALSE(fs::exists(marker_in(secret_dir)));
    CHECK(manifest_files(secret_dir) == (*sealed)["files"]);
    CHECK(taskexec_it::write_lock_free(db.path()));
}
