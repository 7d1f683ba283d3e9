// Requests from outside: names with any bytes, and numbers a typed payload
// cannot hold. Found by the fuzzers (docs/reliability.md, L1-L3); each must
// end as a taskexec::error whose JSON can always be dumped.
#include "taskexec_catch.hpp"

#include <string>

#include <taskexec/taskexec.hpp>

using taskexec::errc;
using taskexec::json;

namespace hostile {
struct Params {
    int count = 0;
    double ratio = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Params, count, ratio)

struct Count : taskexec::Task<"hostile.count", Params> {};
struct CountLocal : Count, taskexec::Engine<"local"> {
    json execute(const Params& p) { return p.count; }
};
struct CountAny : Count, taskexec::any_engine {
    json execute(const Params& p) { return p.count; }
};
TASKEXEC_ENGINE(CountLocal);
TASKEXEC_ENGINE(CountAny);
struct Wf : taskexec::Workflow<"hostile.wf", Count> {};
TASKEXEC_WORKFLOW(Wf);
}  // namespace hostile

namespace {
taskexec::error dispatch_error(std::string_view w, std::string_view t, std::string_view e,
                               const json& payload) {
    try {
        taskexec::executor(w, t, e, payload);
    } catch (const taskexec::error& error) {
        return error;
    }
    FAIL("no error");
    throw;  // unreachable
}
}  // namespace

TEST_CASE("a float for an integer field is invalid_payload, never a cast") {
    const auto e = dispatch_error("hostile.wf", "hostile.count", "local", {{"count", 1e300}});
    CHECK(e.code() == errc::invalid_payload);
    CHECK(e.context().at("field") == "/count");
    CHECK(std::string(e.what()).find("1e") == std::string::npos);
    // A float field still takes floats and integers; an integer field integers.
    CHECK(taskexec::executor("hostile.wf", "hostile.count", "local",
                             {{"count", 3}, {"ratio", 1e300}}) == 3);
    CHECK(taskexec::executor("hostile.wf", "hostile.count", "local", {{"ratio", 2}}) == 0);
}

TEST_CASE("names with any bytes give errors whose JSON dumps") {
    const std::string long_utf8 = std::string(79, 'a') + "\xc3\xa9";  // cut at 80 bytes
    for (const std::string& name : {std::string("\xc3"), std::string("\xff\xfe"), long_utf8,
                                    std::string("a\0b", 3), std::string("x'\\\n")}) {
        const auto as_workflow = dispatch_error(name, "hostile.count", "local", json::object());
        CHECK(as_workflow.code() == errc::unknown_workflow);
        CHECK_NOTHROW(as_workflow.to_json().dump());
        const auto as_engine = dispatch_error("hostile.wf", "hostile.count", name, json::object());
        CHECK(as_engine.code() == errc::unknown_engine);
        CHECK_NOTHROW(as_engine.to_json().dump());
        // An invalid name is never served by the "*" fallback, and says so.
        CHECK(std::string(as_engine.what()).find("not a valid engine name") != std::string::npos);
    }
    const auto e = dispatch_error("\xc3", "hostile.count", "local", json::object());
    CHECK(e.context().at("workflow") == "\\xc3");
}
