// Registrations spread over translation units and libraries. The same
// objects (this file, tu_one.cpp, tu_two.cpp; compiled once) are linked into
// three programs: with a static library linked through
// taskexec_link_registrations, with the static library linked plainly (its
// registrations are dropped, as documented), and with a shared library.
// expect_library.cpp, compiled per program, says which one this is.
#include "taskexec_catch.hpp"
#include "shared_tasks.hpp"

#include <string>

using taskexec::json;

TEST_CASE("engines from several translation units are all registered") {
    CHECK(taskexec::executor("mt.wf", "mt.where", "one", {}) == "one");
    CHECK(taskexec::executor("mt.wf", "mt.where", "two", {}) == "two");
    CHECK(taskexec::executor("mt.wf", "mt.where", "header", {}) == "header");
}

TEST_CASE("a registration in a header included by several translation units counts once") {
    const auto engines = taskexec::TaskEngineMap::instance().engines("mt.where");
    CHECK(engines == std::vector<std::string>{"header", "one", "two"});
    CHECK(taskexec::describe().at("conflicts").empty());
    CHECK_NOTHROW(taskexec::verify());
}

/// Defined in expect_library.cpp: does this program's link keep the
/// library's registrations?
extern const bool multi_tu_expect_library;

TEST_CASE("the library's engines: registered when linked whole-archive or shared, "
          "dropped with a hint when linked plainly") {
    if (multi_tu_expect_library) {
        const json r = taskexec::executor("mt.wf", "mt.from_library", "lib", {{"n", 1}});
        CHECK(r == json{{"from", "library"}, {"echo", {{"n", 1}}}});
        return;
    }
    CHECK_FALSE(taskexec::TaskEngineMap::instance().contains("mt.from_library", "lib"));
    try {
        taskexec::executor("mt.wf", "mt.from_library", "lib", {});
        FAIL("expected unknown_engine");
    } catch (const taskexec::error& e) {
        CHECK(e.code() == taskexec::errc::unknown_engine);
        CHECK(std::string(e.what()).find("taskexec_link_registrations") != std::string::npos);
    }
}
