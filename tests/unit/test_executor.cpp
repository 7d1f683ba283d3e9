// Dispatch: executor(), resolve()/Route, typed payloads, and every error
// row of the contract that dispatch itself can raise.
#include "taskexec_catch.hpp"
#include "test_support.hpp"

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <taskexec/taskexec.hpp>

using taskexec::errc;
using taskexec::json;
using test_support::catch_error;
using test_support::contains;

namespace {

constexpr const char* sentinel = "s3ntinel-Pa55word-9f1c";

struct Creds {
    std::string user;
    std::string password;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Creds, user, password)

struct LoginParams {
    std::string host;
    int port = 0;
    Creds creds;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LoginParams, host, port, creds)

struct LoginResult {
    std::string who;
    int port = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LoginResult, who, port)

// --- tasks ------------------------------------------------------------------
struct Echo : taskexec::Task<"ex.echo"> {
    static constexpr std::string_view description = "returns its payload";
};
struct Login : taskexec::Task<"ex.login", LoginParams, LoginResult> {};
struct Throwing : taskexec::Task<"ex.throwing"> {};
struct BadResult : taskexec::Task<"ex.bad_result", json, LoginResult> {};
struct Lonely : taskexec::Task<"ex.lonely"> {};
TASKEXEC_TASK(Lonely);

// --- engines ----------------------------------------------------------------
struct EchoLocal : Echo, taskexec::Engine<"local"> {
    json execute(const json& p) { return p; }
};
struct EchoAny : Echo, taskexec::any_engine {
    json execute(const json& p, taskexec::Context& ctx) {
        return {{"fallback_for", ctx.engine()}, {"task", ctx.task()}, {"workflow", ctx.workflow()},
                {"payload", p}};
    }
};
struct EchoPostgres : Echo, taskexec::Engine<"postgres"> {
    json execute(const json&) { return "postgres"; }
};
TASKEXEC_ENGINE(EchoLocal);
TASKEXEC_ENGINE(EchoAny);
TASKEXEC_ENGINE(EchoPostgres);

struct LoginLocal : Login, taskexec::Engine<"local"> {
    LoginResult execute(const LoginParams& p) { return {p.creds.user + "@" + p.host, p.port}; }
};
TASKEXEC_ENGINE(LoginLocal);

struct NotStd {};
struct ThrowingLocal : Throwing, taskexec::Engine<"local"> {
    json execute(const json& p) {
        const std::string kind = p.value("kind", "");
        if (kind == "std") throw std::runtime_error("disk on fire");
        if (kind == "taskexec")
            throw taskexec::error(errc::unknown_engine, "inner taskexec error");
        if (kind == "nested")
            return taskexec::executor("ex.wf", "ex.login", "local", json::object());
        if (kind == "nested_twice")  // this engine again, which dispatches "nested"
            return taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "nested"}});
        if (kind == "nested_bad_result")
            return taskexec::executor("ex.wf", "ex.bad_result", "local", json::object());
        throw NotStd{};
    }
};
TASKEXEC_ENGINE(ThrowingLocal);

struct BadResultLocal : BadResult, taskexec::Engine<"local"> {
    json execute(const json&) { return {{"who", 42}}; }  // not a LoginResult
};
TASKEXEC_ENGINE(BadResultLocal);

struct Wf : taskexec::Workflow<"ex.wf", Echo, Login, Throwing, BadResult, Lonely> {};
TASKEXEC_WORKFLOW(Wf);
struct Other : taskexec::Workflow<"ex.other", Echo> {};
TASKEXEC_WORKFLOW(Other);

json good_login() {
    return {{"host", "db1"}, {"port", 5432}, {"creds", {{"user", "ada"}, {"password", sentinel}}}};
}

/// Calls ex.throwing and reports what the task_failed error holds nested:
/// its what(), "NotStd", or "" when nothing is nested.
std::string nested_what(const json& payload) {
    try {
        taskexec::executor("ex.wf", "ex.throwing", "local", payload);
    } catch (const taskexec::error& e) {  // by reference: the nesting is in the thrown type
        try {
            std::rethrow_if_nested(e);
        } catch (const std::exception& inner) {
            return inner.what();
        } catch (const NotStd&) {
            return "NotStd";
        }
    }
    return "";
}

/// Appends the codes of the taskexec::errors nested under `e`, outermost
/// first; "other" for anything else nested, which ends the chain.
void collect_nested_codes(const std::exception& e, std::vector<std::string>& codes) {
    try {
        std::rethrow_if_nested(e);
    } catch (const taskexec::error& inner) {  // alive while this handler runs
        codes.emplace_back(taskexec::to_string(inner.code()));
        collect_nested_codes(inner, codes);
    } catch (...) {
        codes.emplace_back("other");
    }
}

/// Calls ex.throwing with `payload`; the code of the error it throws and of
/// everything nested under it, outermost first. Caught by reference: the
/// nesting is in the thrown type (a copy would slice it off).
std::vector<std::string> nested_codes(const json& payload) {
    std::vector<std::string> codes;
    try {
        taskexec::executor("ex.wf", "ex.throwing", "local", payload);
    } catch (const taskexec::error& e) {
        codes.emplace_back(taskexec::to_string(e.code()));
        collect_nested_codes(e, codes);
    }
    return codes;
}

/// Asserts the sentinel appears nowhere in an error.
void require_no_secret(const taskexec::error& e) {
    CHECK_FALSE(contains(e.what(), sentinel));
    CHECK_FALSE(contains(e.to_json().dump(), sentinel));
}

}  // namespace

TEST_CASE("executor dispatches to the registered engine") {
    CHECK(taskexec::executor("ex.wf", "ex.echo", "local", {{"a", 1}}) == json{{"a", 1}});
    CHECK(taskexec::executor("ex.wf", "ex.echo", "postgres", {}) == "postgres");
    CHECK(taskexec::executor("ex.other", "ex.echo", "local", 7) == 7);
}

TEST_CASE("an engine type without its own implementation falls back to \"*\"") {
    const json r = taskexec::executor("ex.wf", "ex.echo", "oracle", {{"x", true}});
    CHECK(r.at("fallback_for") == "oracle");  // Context::engine() is the requested type
    CHECK(r.at("task") == "ex.echo");
    CHECK(r.at("workflow") == "ex.wf");
    CHECK(r.at("payload") == json{{"x", true}});
    SECTION("\"*\" asks for the fallback directly") {
        CHECK(taskexec::executor("ex.wf", "ex.echo", "*", {}).at("fallback_for") == "*");
    }
    SECTION("an invalid engine name is simply unknown, never the fallback") {
        const auto e = catch_error([] { taskexec::executor("ex.wf", "ex.echo", "bad name", {}); });
        CHECK(e.code() == errc::unknown_engine);
    }
}

TEST_CASE("typed payloads and results convert through nlohmann") {
    const json r = taskexec::executor("ex.wf", "ex.login", "local", good_login());
    CHECK(r == json{{"who", "ada@db1"}, {"port", 5432}});
    SECTION("unknown fields are ignored") {
        json p = good_login();
        p["extra"] = {{"nested", 1}};
        CHECK(taskexec::executor("ex.wf", "ex.login", "local", p).at("who") == "ada@db1");
    }
}

TEST_CASE("Route resolves once and calls many times") {
    const taskexec::Route route = taskexec::resolve("ex.wf", "ex.echo", "local");
    CHECK(route.workflow() == "ex.wf");
    CHECK(route.task() == "ex.echo");
    CHECK(route.engine() == "local");
    for (int i = 0; i < 3; ++i) CHECK(route({{"i", i}}) == json{{"i", i}});
    const taskexec::Route fallback = taskexec::resolve("ex.wf", "ex.echo", "db2");
    CHECK(fallback(json::object()).at("fallback_for") == "db2");
    CHECK(catch_error([] { (void)taskexec::resolve("ex.wf", "nope", "local"); }).code() ==
          errc::task_not_in_workflow);
}

TEST_CASE("a Route's copies outlive the original; its Context names the requested engine") {
    // A Route keeps one Context for all its calls; its engine name points
    // into the Route, so a copy must point into the copy.
    auto original = std::make_unique<taskexec::Route>(taskexec::resolve("ex.wf", "ex.echo", "db2"));
    const taskexec::Route copy = *original;
    taskexec::Route assigned = taskexec::resolve("ex.wf", "ex.echo", "local");
    assigned = *original;
    original.reset();
    for (const taskexec::Route* r : {&copy, static_cast<const taskexec::Route*>(&assigned)}) {
        CHECK(r->engine() == "db2");
        CHECK(r->task() == "ex.echo");
        CHECK((*r)(json::object()).at("fallback_for") == "db2");
    }
    const taskexec::Route& same = assigned;
    assigned = same;  // self-assignment keeps it intact
    CHECK(assigned(json::object()).at("fallback_for") == "db2");
}

TEST_CASE("unknown_workflow names the registered workflows and suggests the closest") {
    const auto e = catch_error([] { taskexec::executor("ex.wff", "ex.echo", "local", {}); });
    CHECK(e.code() == errc::unknown_workflow);
    CHECK(contains(e.what(), "'ex.wff'"));
    CHECK(contains(e.what(), "ex.other"));
    CHECK(contains(e.what(), "ex.wf"));
    CHECK(contains(e.what(), "did you mean 'ex.wf'?"));
    CHECK(e.to_json().at("code") == "unknown_workflow");
    CHECK(e.to_json().at("workflow") == "ex.wff");
    CHECK(e.to_json().at("message") == e.what());
    const auto far = catch_error([] { taskexec::executor("zzzzzzz", "ex.echo", "local", {}); });
    CHECK_FALSE(contains(far.what(), "did you mean"));
}

TEST_CASE("task_not_in_workflow names the task, the workflow and its tasks") {
    const auto e = catch_error([] { taskexec::executor("ex.other", "ex.login", "local", {}); });
    CHECK(e.code() == errc::task_not_in_workflow);
    CHECK(contains(e.what(), "'ex.login'"));
    CHECK(contains(e.what(), "'ex.other'"));
    CHECK(contains(e.what(), "ex.echo"));
    CHECK(e.to_json().at("task") == "ex.login");
    CHECK(e.to_json().at("workflow") == "ex.other");
}

TEST_CASE("unknown_engine lists the task's engines and suggests the closest") {
    const auto e = catch_error([] { taskexec::executor("ex.wf", "ex.login", "locla", {}); });
    CHECK(e.code() == errc::unknown_engine);
    CHECK(contains(e.what(), "'locla'"));
    CHECK(contains(e.what(), "'ex.login'"));
    CHECK(contains(e.what(), "local"));
    CHECK(contains(e.what(), "did you mean 'local'?"));
    CHECK(e.to_json().at("engine") == "locla");
    SECTION("a task without engines hints at static libraries") {
        const auto none = catch_error([] { taskexec::executor("ex.wf", "ex.lonely", "x", {}); });
        CHECK(none.code() == errc::unknown_engine);
        CHECK(contains(none.what(), "taskexec_link_registrations"));
    }
}

TEST_CASE("invalid_payload names the field as a JSON pointer, never a value") {
    SECTION("a mistyped nested field") {
        json p = good_login();
        p["creds"]["user"] = 12345;
        const auto e = catch_error([&] { taskexec::executor("ex.wf", "ex.login", "local", p); });
        CHECK(e.code() == errc::invalid_payload);
        CHECK(contains(e.what(), "/creds/user"));
        CHECK(contains(e.what(), "'ex.login'"));
        CHECK(e.to_json().at("field") == "/creds/user");
        CHECK_FALSE(contains(e.what(), "12345"));
        require_no_secret(e);
    }
    SECTION("a missing field") {
        json p = good_login();
        p["creds"].erase("password");
        const auto e = catch_error([&] { taskexec::executor("ex.wf", "ex.login", "local", p); });
        CHECK(e.code() == errc::invalid_payload);
        CHECK(e.to_json().at("field") == "/creds/password");
        require_no_secret(e);
    }
    SECTION("a value of the wrong type carrying the secret") {
        json p = good_login();
        p["port"] = sentinel;  // nlohmann's own message would not quote it, but check anyway
        const auto e = catch_error([&] { taskexec::executor("ex.wf", "ex.login", "local", p); });
        CHECK(e.to_json().at("field") == "/port");
        require_no_secret(e);
    }
    SECTION("a payload that is not an object has no field") {
        const auto e =
            catch_error([] { taskexec::executor("ex.wf", "ex.login", "local", json(sentinel)); });
        CHECK(e.code() == errc::invalid_payload);
        CHECK(contains(e.what(), "not an object"));
        CHECK_FALSE(e.to_json().contains("field"));
        require_no_secret(e);
    }
}

TEST_CASE("task_failed wraps whatever the engine threw and keeps it nested") {
    SECTION("a std::exception") {
        const auto e = catch_error(
            [] { taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "std"}}); });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "disk on fire"));
        CHECK(contains(e.what(), "'ex.throwing'"));
        CHECK(contains(e.what(), "'local'"));
        CHECK(contains(e.what(), "'ex.wf'"));
        CHECK(e.to_json().at("engine") == "local");
        CHECK(nested_what({{"kind", "std"}}) == "disk on fire");
    }
    SECTION("something not derived from std::exception") {
        const auto e = catch_error(
            [] { taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "other"}}); });
        CHECK(e.code() == errc::task_failed);
        CHECK(nested_what({{"kind", "other"}}) == "NotStd");
    }
    SECTION("a taskexec::error from the engine is task_failed too") {
        const auto e = catch_error(
            [] { taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "taskexec"}}); });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "inner taskexec error"));
    }
    SECTION("an engine may call executor() itself; its failure nests") {
        const auto e = catch_error(
            [] { taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "nested"}}); });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "invalid payload"));
    }
    SECTION("two levels of nested dispatch: each engine's failure wraps the one below") {
        const auto e = catch_error([] {
            taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "nested_twice"}});
        });
        // outer engine -> middle engine -> the payload the middle one sent
        CHECK(nested_codes({{"kind", "nested_twice"}}) ==
              std::vector<std::string>{"task_failed", "task_failed", "invalid_payload"});
        CHECK(contains(e.what(), "invalid payload"));
    }
    SECTION("a nested dispatch whose result does not convert fails the outer engine") {
        const auto e = catch_error([] {
            taskexec::executor("ex.wf", "ex.throwing", "local", {{"kind", "nested_bad_result"}});
        });
        // outer engine -> the inner dispatch's task_failed -> nlohmann's error
        CHECK(nested_codes({{"kind", "nested_bad_result"}}) ==
              std::vector<std::string>{"task_failed", "task_failed", "other"});
        CHECK(contains(e.what(), "'ex.throwing'"));
        CHECK(contains(e.what(), "'ex.bad_result'"));
    }
    SECTION("a result that does not convert to Result") {
        const auto e = catch_error([] { taskexec::executor("ex.wf", "ex.bad_result", "local", {}); });
        CHECK(e.code() == errc::task_failed);
        CHECK(contains(e.what(), "'ex.bad_result'"));
    }
}

TEST_CASE("to_string names every errc") {
    CHECK(taskexec::to_string(errc::unknown_workflow) == "unknown_workflow");
    CHECK(taskexec::to_string(errc::task_not_in_workflow) == "task_not_in_workflow");
    CHECK(taskexec::to_string(errc::unknown_engine) == "unknown_engine");
    CHECK(taskexec::to_string(errc::invalid_payload) == "invalid_payload");
    CHECK(taskexec::to_string(errc::task_failed) == "task_failed");
    CHECK(taskexec::to_string(errc::registration_conflict) == "registration_conflict");
    CHECK(taskexec::to_string(errc::plugin_load_failed) == "plugin_load_failed");
    CHECK(taskexec::to_string(errc::timed_out) == "timed_out");
    CHECK(taskexec::to_string(errc::cancelled) == "cancelled");
}

TEST_CASE("taskexec::error copies cheaply and is a std::runtime_error") {
    const taskexec::error e(errc::cancelled, "stopped", {{"task", "t"}});
    const taskexec::error copy = e;  // NOLINT: the copy is the point
    CHECK(copy.code() == errc::cancelled);
    CHECK(std::string(copy.what()) == "stopped");
    CHECK(&copy.context() == &e.context());  // shared, immutable
    const std::runtime_error& base = copy;
    CHECK(std::string(base.what()) == "stopped");
    CHECK(copy.to_json() == json{{"code", "cancelled"}, {"message", "stopped"}, {"task", "t"}});
}
