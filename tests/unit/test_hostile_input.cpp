// Requests from outside: names with any bytes, and numbers a typed payload
// cannot hold. Found by the fuzzers (docs/reliability.md, L1-L3); each must
// end as a taskexec::error whose JSON can always be dumped.
#include "taskexec_catch.hpp"

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

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
// Integer fields the default Payload cannot show: elements of an empty
// vector, an optional that is empty, the values of a map.
struct Item {
    unsigned quantity = 0;
    double weight = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Item, quantity, weight)
struct Order {
    std::vector<Item> items;
    std::map<std::string, short> stock;
    std::vector<double> prices;
    std::set<int> tags;  // equal elements merge: the round trip comes back shorter
};
inline void to_json(json& j, const Order& o) {
    j = {{"items", o.items}, {"stock", o.stock}, {"prices", o.prices}, {"tags", o.tags}};
}
inline void from_json(const json& j, Order& o) {
    o.items = j.value("items", std::vector<Item>{});
    o.stock = j.value("stock", std::map<std::string, short>{});
    o.prices = j.value("prices", std::vector<double>{});
    o.tags = j.value("tags", std::set<int>{});
}
struct Place : taskexec::Task<"hostile.place", Order> {};
struct PlaceLocal : Place, taskexec::Engine<"local"> {
    json execute(const Order& o) { return o.items.size() + o.stock.size() + o.prices.size(); }
};
TASKEXEC_ENGINE(PlaceLocal);

// A from_json that validates: it refuses the probe's harmless floats, so the
// check falls back to the default shape.
struct Strict {
    int level = 1;
    double factor = 1000;
};
inline void to_json(json& j, const Strict& s) { j = {{"level", s.level}, {"factor", s.factor}}; }
inline void from_json(const json& j, Strict& s) {
    s.level = j.value("level", 1);
    s.factor = j.value("factor", 1000.0);
    if (s.factor < 500) throw std::invalid_argument("factor below 500");
}
struct Tune : taskexec::Task<"hostile.tune", Strict> {};
struct TuneLocal : Tune, taskexec::Engine<"local"> {
    json execute(const Strict& s) { return s.factor; }
};
TASKEXEC_ENGINE(TuneLocal);

struct Wf : taskexec::Workflow<"hostile.wf", Count, Place, Tune> {};
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

TEST_CASE("a float for an integer the default Payload does not show is refused too") {
    // Found by fuzz_request (tests/fuzz/regressions/fuzz_request/): the
    // element of an empty vector has no shape to compare with.
    const std::vector<std::pair<json, std::string>> rows = {
        {{{"items", {{{"quantity", 1}}, {{"quantity", 1e300}}}}}, "/items/1/quantity"},
        {{{"items", {{{"quantity", -1.0}}}}}, "/items/0/quantity"},
        {{{"stock", {{"a~b/c", 1e9}}}}, "/stock/a~0b~1c"},
        {{{"tags", {0, 1, 1e300}}}, "/tags"},  // found by review: the probe's 0.5 merges with 0
    };
    for (const auto& [payload, field] : rows) {
        CAPTURE(payload.dump());
        const auto e = dispatch_error("hostile.wf", "hostile.place", "local", payload);
        CHECK(e.code() == errc::invalid_payload);
        CHECK(e.context().at("field") == field);
        CHECK(std::string(e.what()).find("e+") == std::string::npos);
        CHECK(std::string(e.what()).find("300") == std::string::npos);
    }
    // Wrong in another way too, so the probe cannot convert: the float still
    // never reaches a cast, and the error names the other fault.
    const auto both = dispatch_error("hostile.wf", "hostile.place", "local",
                                     {{"items", {{{"quantity", 1e300}}}}, {"stock", "none"}});
    CHECK(both.code() == errc::invalid_payload);
    CHECK(both.context().at("field") == "/stock");
    // Floats where the type has floats still pass, however large.
    CHECK(taskexec::executor("hostile.wf", "hostile.place", "local",
                             {{"items", {{{"quantity", 2}, {"weight", 1e300}}}},
                              {"prices", {1e300, -2.5}}}) == 3);
}

TEST_CASE("a typed payload nested deeper than 64 levels is invalid_payload, not a stack overflow") {
    // nlohmann parses nesting without recursion; taskexec's checks must not
    // recurse into it either (1,000 levels here; a megabyte of '[' in use).
    json payload = json::object();
    payload["items"] = json::parse(std::string(1000, '[') + std::string(1000, ']'));
    const auto e = dispatch_error("hostile.wf", "hostile.place", "local", payload);
    CHECK(e.code() == errc::invalid_payload);
    CHECK(std::string(e.what()).find("deeper than 64") != std::string::npos);
    // 60 levels under a field the type ignores are fine.
    json fine = json::object();
    for (int i = 0; i < 60; ++i) fine = json{{"x", std::move(fine)}};
    CHECK(taskexec::executor("hostile.wf", "hostile.place", "local", {{"note", fine}}) == 0);
}

TEST_CASE("a validating from_json falls back to the default shape") {
    CHECK(taskexec::executor("hostile.wf", "hostile.tune", "local", {{"factor", 1e300}}) == 1e300);
    const auto e =
        dispatch_error("hostile.wf", "hostile.tune", "local", {{"factor", 900.0}, {"level", 1e300}});
    CHECK(e.code() == errc::invalid_payload);
    CHECK(e.context().at("field") == "/level");
    // The validator's own refusal is invalid_payload too, its message not passed on.
    const auto low = dispatch_error("hostile.wf", "hostile.tune", "local", {{"factor", 2}});
    CHECK(low.code() == errc::invalid_payload);
    CHECK(std::string(low.what()).find("below") == std::string::npos);
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
