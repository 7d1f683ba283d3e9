// Registries and describe(): what is listed, in which order, and how
// repeated registrations fold.
#include "taskexec_catch.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <taskexec/taskexec.hpp>

using taskexec::json;

namespace {

// A workflow registered before its tasks or engines exist in this file.
struct RegB;
struct RegA : taskexec::Task<"reg.a"> {
    static constexpr std::string_view description = "first task";
};
struct RegB : taskexec::Task<"reg.b"> {};
struct RegC : taskexec::Task<"reg.c"> {};  // named only by the workflow
struct RegWf : taskexec::Workflow<"reg.wf", RegB, RegA, RegC> {};
TASKEXEC_WORKFLOW(RegWf);

struct RegAZeta : RegA, taskexec::Engine<"zeta"> {
    json execute(const json&) { return "a/zeta"; }
};
struct RegAAlpha : RegA, taskexec::Engine<"alpha"> {
    json execute(const json&) { return "a/alpha"; }
};
struct RegBAlpha : RegB, taskexec::Engine<"alpha"> {
    json execute(const json&) { return "b/alpha"; }
};
struct RegBAny : RegB, taskexec::any_engine {
    json execute(const json&) { return "b/*"; }
};
struct RegCAny : RegC, taskexec::any_engine {
    json execute(const json&) { return "c/*"; }
};
// Two registrations on one line, and a repeat of the same class: both fine.
TASKEXEC_ENGINE(RegAZeta); TASKEXEC_ENGINE(RegAAlpha);
TASKEXEC_ENGINE(RegAZeta);
TASKEXEC_ENGINE(RegBAlpha);
TASKEXEC_ENGINE(RegBAny);
TASKEXEC_ENGINE(RegCAny);
TASKEXEC_WORKFLOW(RegWf);  // repeat: no-op

struct RegTaskOnly : taskexec::Task<"reg.task_only"> {
    static constexpr std::string_view description = "listed before any engine";
};
TASKEXEC_TASK(RegTaskOnly);

// Dispatch during static initialisation sees what is registered so far.
const json static_init_result = taskexec::executor("reg.wf", "reg.a", "alpha", {});

const json* find_by_name(const json& list, std::string_view name) {
    for (const json& item : list)
        if (item.at("name") == name) return &item;
    return nullptr;
}

}  // namespace

TEST_CASE("dispatch works during static initialisation") {
    CHECK(static_init_result == "a/alpha");
}

TEST_CASE("TaskEngineMap lists tasks and engines sorted bytewise") {
    auto& map = taskexec::TaskEngineMap::instance();
    CHECK(map.contains("reg.a", "zeta"));
    CHECK(map.contains("reg.b", "*"));
    CHECK_FALSE(map.contains("reg.a", "*"));
    CHECK_FALSE(map.contains("reg.a", "beta"));
    CHECK_FALSE(map.contains("nope", "alpha"));
    CHECK(map.engines("reg.a") == std::vector<std::string>{"alpha", "zeta"});
    CHECK(map.engines("reg.b") == std::vector<std::string>{"*", "alpha"});
    CHECK(map.engines("reg.task_only").empty());
    CHECK(map.engines("unknown").empty());
    const auto tasks = map.tasks();
    CHECK(std::is_sorted(tasks.begin(), tasks.end()));
    for (const char* t : {"reg.a", "reg.b", "reg.c", "reg.task_only"})
        CHECK(std::find(tasks.begin(), tasks.end(), t) != tasks.end());
    CHECK(&map == &taskexec::TaskEngineMap::instance());
}

TEST_CASE("WorkflowRegistry keeps the declared task order") {
    auto& workflows = taskexec::WorkflowRegistry::instance();
    CHECK(workflows.contains("reg.wf"));
    CHECK_FALSE(workflows.contains("reg.nope"));
    CHECK(workflows.tasks("reg.wf") == std::vector<std::string>{"reg.b", "reg.a", "reg.c"});
    CHECK(workflows.tasks("reg.nope").empty());
    const auto names = workflows.names();
    CHECK(std::is_sorted(names.begin(), names.end()));
    CHECK(std::count(names.begin(), names.end(), "reg.wf") == 1);
}

TEST_CASE("describe() shows workflows, tasks, engines and sites") {
    const json d = taskexec::describe();
    REQUIRE(d.contains("workflows"));
    REQUIRE(d.contains("tasks"));
    REQUIRE(d.contains("conflicts"));
    CHECK(d.at("conflicts").empty());

    const json* wf = find_by_name(d.at("workflows"), "reg.wf");
    REQUIRE(wf != nullptr);
    CHECK(wf->at("tasks") == json{"reg.b", "reg.a", "reg.c"});
    // alpha runs a and b directly and c through "*". zeta runs a directly
    // and b and c through "*", so it is complete too; "*" is not (a has none).
    CHECK(wf->at("complete_engines") == json{"alpha", "zeta"});

    const json* a = find_by_name(d.at("tasks"), "reg.a");
    REQUIRE(a != nullptr);
    CHECK(a->at("description") == "first task");
    REQUIRE(a->at("engines").size() == 2);
    CHECK(a->at("engines")[0].at("name") == "alpha");
    CHECK(a->at("engines")[1].at("name") == "zeta");
    const std::string site = a->at("engines")[1].at("site");
    CHECK(test_support::contains(site, "test_registry.cpp:"));
    CHECK(a->at("engines")[1].at("origin") == "executable");

    const json* c = find_by_name(d.at("tasks"), "reg.c");
    REQUIRE(c != nullptr);
    CHECK(c->at("description") == "");
    const json* only = find_by_name(d.at("tasks"), "reg.task_only");
    REQUIRE(only != nullptr);
    CHECK(only->at("engines").empty());

    std::vector<std::string> names;
    for (const json& t : d.at("tasks")) names.push_back(t.at("name"));
    CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("a repeated registration of one class is a no-op") {
    const json d = taskexec::describe();
    const json* a = find_by_name(d.at("tasks"), "reg.a");
    REQUIRE(a != nullptr);
    CHECK(a->at("engines").size() == 2);  // RegAZeta registered twice, listed once
    std::size_t wf_count = 0;
    for (const json& w : d.at("workflows")) wf_count += (w.at("name") == "reg.wf") ? 1U : 0U;
    CHECK(wf_count == 1);
    CHECK_NOTHROW(taskexec::verify());
}

TEST_CASE("complete_engines includes \"*\" when every task has a fallback") {
    const json d = taskexec::describe();
    const json* wf = nullptr;
    for (const json& w : d.at("workflows"))
        if (w.at("name") == "reg.fallbacks") wf = &w;
    REQUIRE(wf != nullptr);
    CHECK(wf->at("complete_engines") == json{"alpha", "*"});
}

namespace {
struct RegFallbacks : taskexec::Workflow<"reg.fallbacks", RegB, RegC> {};
TASKEXEC_WORKFLOW(RegFallbacks);
}  // namespace
