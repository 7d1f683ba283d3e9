// Registration conflicts: recorded with both sites, never fatal at start-up,
// and blocking exactly the names they touch. A separate executable, so the
// conflicts do not leak into the other unit tests.
#include "taskexec_catch.hpp"
#include "conflicts_shared.hpp"
#include "test_support.hpp"

#include <string>

using taskexec::errc;
using taskexec::json;
using test_support::catch_error;
using test_support::contains;

namespace conflicts {

int other_line_of_wf();

struct SharedPg : Shared, taskexec::Engine<"pg"> {
    json execute(const json&) { return "first"; }
};
struct SharedLocal : Shared, taskexec::Engine<"local"> {
    json execute(const json&) { return "local"; }
};
TASKEXEC_ENGINE(SharedPg);
TASKEXEC_ENGINE(SharedLocal);

struct Dup : taskexec::Task<"cf.dup"> {};
struct DupPg : Dup, taskexec::Engine<"pg"> {
    json execute(const json&) { return 1; }
};
struct DupLocal : Dup, taskexec::Engine<"local"> {
    json execute(const json&) { return 1; }
};
TASKEXEC_ENGINE(DupPg);
TASKEXEC_ENGINE(DupLocal);

struct FinePg : Fine, taskexec::Engine<"pg"> {
    json execute(const json&) { return "fine"; }
};
TASKEXEC_ENGINE(FinePg);

struct WfFirst : taskexec::Workflow<"cf.wf", Fine> {};
TASKEXEC_WORKFLOW(WfFirst);
const int first_line_of_wf = __LINE__ - 1;

struct Main : taskexec::Workflow<"cf.main", Shared, Dup, Fine> {};
TASKEXEC_WORKFLOW(Main);

// Three classes on one (task, engine) pair, all in this file: the sites
// must come in registration order.
struct Triple : taskexec::Task<"cf.triple"> {};
struct TripleA : Triple, taskexec::Engine<"x"> {
    json execute(const json&) { return 1; }
};
struct TripleB : Triple, taskexec::Engine<"x"> {
    json execute(const json&) { return 2; }
};
struct TripleC : Triple, taskexec::Engine<"x"> {
    json execute(const json&) { return 3; }
};
TASKEXEC_ENGINE(TripleA);
const int triple_a_line = __LINE__ - 1;
TASKEXEC_ENGINE(TripleB);
TASKEXEC_ENGINE(TripleC);
const int triple_c_line = __LINE__ - 1;

}  // namespace conflicts

namespace {
const json* find_conflict(const json& d, std::string_view kind, std::string_view name) {
    for (const json& c : d.at("conflicts"))
        if (c.at("kind") == kind && c.at("name") == name) return &c;
    return nullptr;
}
std::string site_of(int line) { return std::string(__FILE__) + ":" + std::to_string(line); }
}  // namespace

TEST_CASE("the process started: conflicts never abort or throw at start-up") {
    CHECK(taskexec::executor("cf.main", "cf.fine", "pg", {}) == "fine");
}

TEST_CASE("an engine conflict blocks only that (task, engine) pair") {
    const auto e = catch_error([] { taskexec::executor("cf.main", "cf.shared", "pg", {}); });
    CHECK(e.code() == errc::registration_conflict);
    CHECK(contains(e.what(), "cf.shared/pg"));
    CHECK(contains(e.what(), "test_conflicts.cpp:"));
    CHECK(contains(e.what(), "conflicts_other.cpp:"));
    CHECK(taskexec::executor("cf.main", "cf.shared", "local", {}) == "local");
    CHECK(catch_error([] { (void)taskexec::resolve("cf.main", "cf.shared", "pg"); }).code() ==
          errc::registration_conflict);
}

TEST_CASE("a task conflict blocks every dispatch of that task") {
    for (const char* engine : {"pg", "local", "other"}) {
        const auto e = catch_error([&] { taskexec::executor("cf.main", "cf.dup", engine, {}); });
        CHECK(e.code() == errc::registration_conflict);
        CHECK(contains(e.what(), "cf.dup"));
        CHECK(contains(e.what(), "test_conflicts.cpp:"));
        CHECK(contains(e.what(), "conflicts_other.cpp:"));
    }
}

TEST_CASE("a workflow conflict blocks that workflow") {
    const auto e = catch_error([] { taskexec::executor("cf.wf", "cf.fine", "pg", {}); });
    CHECK(e.code() == errc::registration_conflict);
    CHECK(contains(e.what(), site_of(conflicts::first_line_of_wf)));
    CHECK(contains(e.what(), "conflicts_other.cpp:" + std::to_string(conflicts::other_line_of_wf())));
    CHECK(taskexec::executor("cf.main", "cf.fine", "pg", {}) == "fine");
}

TEST_CASE("describe() lists every conflict with its sites, sorted by name then kind") {
    const json d = taskexec::describe();
    const json& list = d.at("conflicts");
    REQUIRE(list.size() == 4);
    std::vector<std::pair<std::string, std::string>> keys;
    for (const json& c : list) keys.emplace_back(c.at("name"), c.at("kind"));
    CHECK(std::is_sorted(keys.begin(), keys.end()));

    const json* triple = find_conflict(d, "engine", "cf.triple/x");
    REQUIRE(triple != nullptr);
    REQUIRE(triple->at("sites").size() == 3);
    CHECK(triple->at("sites")[0] == site_of(conflicts::triple_a_line));
    CHECK(triple->at("sites")[2] == site_of(conflicts::triple_c_line));

    CHECK(find_conflict(d, "engine", "cf.shared/pg") != nullptr);
    CHECK(find_conflict(d, "workflow", "cf.wf") != nullptr);
    const json* dup = find_conflict(d, "task", "cf.dup");
    REQUIRE(dup != nullptr);
    CHECK(dup->at("sites").size() == 2);

    // After a task conflict, the task shows the first registration and only
    // its engines: the other identity's engine is not listed.
    for (const json& t : d.at("tasks")) {
        if (t.at("name") != "cf.dup") continue;
        const std::string first_site = t.at("engines").at(0).at("site");
        for (const json& eng : t.at("engines"))
            CHECK(contains(eng.at("site").get<std::string>(),
                           contains(first_site, "conflicts_other") ? "conflicts_other"
                                                                   : "test_conflicts"));
    }
}

TEST_CASE("verify() throws registration_conflict naming every conflict") {
    const auto e = catch_error([] { taskexec::verify(); });
    CHECK(e.code() == errc::registration_conflict);
    CHECK(contains(e.what(), "cf.dup"));
    CHECK(contains(e.what(), "cf.shared/pg"));
    CHECK(contains(e.what(), "cf.wf"));
    CHECK(contains(e.what(), "cf.triple/x"));
    CHECK(contains(e.what(), site_of(conflicts::triple_a_line)));
}
