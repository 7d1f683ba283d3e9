// Registrations spread over translation units and libraries. The same source
// is built into three programs: with a static library linked through
// taskexec_link_registrations (MULTI_TU_EXPECT_LIBRARY=1), with the static
// library linked plainly (=0: its registrations are dropped, as documented),
// and with a shared library (=1).
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

#if MULTI_TU_EXPECT_LIBRARY
TEST_CASE("the library's engines are registered") {
    const json r = taskexec::executor("mt.wf", "mt.from_library", "lib", {{"n", 1}});
    CHECK(r == json{{"from", "library"}, {"echo", {{"n", 1}}}});
}
#else
TEST_CASE("a plainly linked static library loses its registrations, and the error says why") {
    CHECK_FALSE(taskexec::TaskEngineMap::instance().contains("mt.from_library", "lib"));
    try {
        taskexec::executor("mt.wf", "mt.from_library", "lib", {});
        FAIL("expected unknown_engine");
    } catch (const taskexec::error& e) {
        CHECK(e.code() == taskexec::errc::unknown_engine);
        CHECK(std::string(e.what()).find("taskexec_link_registrations") != std::string::npos);
    }
}
#endif
