// Names: validity rules and fixed_string.
#include "taskexec_catch.hpp"

#include <string>
#include <taskexec/taskexec.hpp>

using taskexec::detail::is_valid_name;

TEST_CASE("valid names are 1 to 64 characters of [A-Za-z0-9_.-]") {
    CHECK(is_valid_name("quiesce_db"));
    CHECK(is_valid_name("a"));
    CHECK(is_valid_name("A-Z.0_9"));
    CHECK(is_valid_name(std::string(64, 'x')));
    CHECK_FALSE(is_valid_name(""));
    CHECK_FALSE(is_valid_name(std::string(65, 'x')));
    CHECK_FALSE(is_valid_name("has space"));
    CHECK_FALSE(is_valid_name("slash/y"));
    CHECK_FALSE(is_valid_name("*"));
    CHECK_FALSE(is_valid_name(std::string("nul\0byte", 8)));
    CHECK_FALSE(is_valid_name("caf\xc3\xa9"));
}

TEST_CASE("fixed_string keeps the literal and its size") {
    constexpr taskexec::fixed_string s("quiesce_db");
    STATIC_REQUIRE(s.size() == 10);
    STATIC_REQUIRE(s.view() == "quiesce_db");
}

struct NameCheckTask : taskexec::Task<"name.check-1"> {};
struct NameCheckEngine : NameCheckTask, taskexec::Engine<"eng_2"> {
    taskexec::json execute(const taskexec::json&) { return 1; }
};

TEST_CASE("Task, Engine and Workflow expose their names") {
    STATIC_REQUIRE(NameCheckTask::task_name == "name.check-1");
    STATIC_REQUIRE(NameCheckEngine::engine_type == "eng_2");
    STATIC_REQUIRE(taskexec::any_engine::engine_type == "*");
    using W = taskexec::Workflow<"wf", NameCheckTask>;
    STATIC_REQUIRE(W::workflow_name == "wf");
}

TEST_CASE("edit distance and suggestions") {
    using taskexec::detail::closest_name;
    using taskexec::detail::edit_distance;
    CHECK(edit_distance("postgres", "postgres", 2) == 0);
    CHECK(edit_distance("postgre", "postgres", 2) == 1);
    CHECK(edit_distance("psotgres", "postgres", 2) == 2);
    CHECK(edit_distance("mysql", "postgres", 2) == 3);  // capped at limit + 1
    std::vector<std::string_view> names{"mariadb", "mysql", "postgres", "*"};
    CHECK(closest_name("postgre", names) == std::optional<std::string>("postgres"));
    CHECK(closest_name("mysq", names) == std::optional<std::string>("mysql"));
    CHECK_FALSE(closest_name("oracle", names).has_value());
    CHECK_FALSE(closest_name("", {"*"}).has_value());  // never suggests the fallback
}
