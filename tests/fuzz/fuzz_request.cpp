// tests/fuzz/fuzz_request.cpp — libFuzzer target: arbitrary bytes as a JSON
// request, through executor(), resolve()/Route and run_workflow().
//
//     {"workflow": "fz.orders", "task": "fz.reserve", "engine": "mem",
//      "payload": {...}, "options": {"step_timeout_ms": 5, "stop": true}}
//
// Invalid JSON and non-objects are discarded (the parser is nlohmann's, not
// ours). Everything else is dispatched against the registry below: typed
// payloads (nested structs, arrays of structs, defaults, a non-object
// Payload), a step with a compensation, engines that throw std, non-std and
// taskexec exceptions, typed Results that do not convert, a "*" fallback, a
// task without engines and an engine that re-enters executor().
//
// What must hold, for every input (a violation aborts, which libFuzzer
// reports as a crash):
// - only taskexec::error leaves executor()/Route/run_workflow — and
//   std::invalid_argument from run_workflow for a negative timeout, as
//   documented;
// - error::to_json() is {"code": to_string(code()), "message": what(), ...};
//   task_failed keeps the original exception nested;
// - a sentinel secret planted in payload values appears in no what(), no
//   to_json(), no run report and no event;
// - a run report is consistent: one step per task, `ok` iff every step is
//   ok, nothing after the ending step ran, compensations only undo
//   attempted steps.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <taskexec/taskexec.hpp>

using taskexec::json;

namespace {

// Planted by the fuzzer into payload values; never valid as a name.
constexpr std::string_view sentinel = "Fz!SENTINEL#pw-7c1e";
// A payload string value starting with this is replaced by the sentinel.
constexpr std::string_view secret_marker = "pw:";

[[noreturn]] void fail(const char* what, const std::string& detail) {
    std::fprintf(stderr, "fuzz_request: %s\n%s\n", what, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

bool holds_sentinel(std::string_view text) { return text.find(sentinel) != std::string_view::npos; }

}  // namespace

// Named, not anonymous: nlohmann's from_json/to_json of unused types would
// otherwise be -Wunused-function errors.
namespace fz {

// ---- the registry under test ------------------------------------------------

struct Creds {
    std::string user;
    std::string password;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Creds, user, password)

struct Item {
    std::string sku;
    int quantity = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Item, sku, quantity)

struct ReserveParams {
    std::string customer;
    std::vector<Item> items;
    Creds creds;
    std::string mode;  // "", "throw_std", "throw_int", "throw_taskexec", "bad_result", ...
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReserveParams, customer, items, creds, mode)

struct ReserveResult {
    std::string reservation;
    std::size_t lines = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ReserveResult, reservation, lines)

struct ChargeParams {
    std::string reservation;  // from reserve's result, once merged
    double amount = 0;
    bool capture = true;
    std::string mode;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ChargeParams, reservation, amount, capture, mode)

// A Result whose to_json throws for some values: the conversion back to
// JSON fails after the engine returned.
struct ShipResult {
    std::string tracking;
    int parcels = 0;
};
void to_json(json& j, const ShipResult& r) {
    if (r.parcels < 0) throw std::domain_error("negative parcel count");
    j = json{{"tracking", r.tracking}, {"parcels", r.parcels}};
}
void from_json(const json& j, ShipResult& r) {
    j.at("tracking").get_to(r.tracking);
    j.at("parcels").get_to(r.parcels);
}

struct NotStd {};

/// Throws or misbehaves as `mode` asks; engine text never quotes values.
void act(const std::string& mode) {
    if (mode == "throw_std") throw std::runtime_error("engine failed on purpose");
    if (mode == "throw_int") throw 42;
    if (mode == "throw_other") throw NotStd{};
    if (mode == "throw_taskexec")
        throw taskexec::error(taskexec::errc::timed_out, "engine threw a taskexec::error");
    if (mode == "throw_nested") {
        try {
            throw std::logic_error("inner cause");
        } catch (...) {
            std::throw_with_nested(std::runtime_error("outer cause"));
        }
    }
}

struct Release : taskexec::Task<"fz.release"> {};
struct Reserve : taskexec::Task<"fz.reserve", ReserveParams, ReserveResult> {
    static constexpr std::string_view description = "reserve stock (undone by fz.release)";
    using compensation = Release;
};
struct Charge : taskexec::Task<"fz.charge", ChargeParams> {};
struct Ship : taskexec::Task<"fz.ship", json, ShipResult> {};
struct Count : taskexec::Task<"fz.count", int, int> {};  // a payload that is not an object
struct Nested : taskexec::Task<"fz.nested"> {};          // re-enters executor()
struct Lonely : taskexec::Task<"fz.lonely"> {};          // no engine at all
TASKEXEC_TASK(Lonely);

struct MemReserve : Reserve, taskexec::Engine<"mem"> {
    ReserveResult execute(const ReserveParams& p) {
        act(p.mode);
        return {"r-" + std::to_string(p.items.size()), p.items.size()};
    }
};
struct MemRelease : Release, taskexec::Engine<"mem"> {
    json execute(const json& p) {
        act(p.is_object() ? p.value("release_mode", std::string()) : std::string());
        return {{"released", true}};
    }
};
struct MemCharge : Charge, taskexec::Engine<"mem"> {
    json execute(const ChargeParams& p, taskexec::Context& ctx) {
        act(p.mode);
        if (p.mode == "wait_stop") {
            // Cooperative: bounded by the step deadline or a stop request.
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
            while (!ctx.stop_token().stop_requested() && std::chrono::steady_clock::now() < give_up)
                std::this_thread::yield();
        }
        return {{"charged", p.amount > 0}, {"capture", p.capture}};
    }
};
// Another engine type: always fails, so only "*" or this decide.
struct FlakyCharge : Charge, taskexec::Engine<"flaky"> {
    json execute(const ChargeParams&) { throw std::runtime_error("flaky engine"); }
};
struct FlakyReserve : Reserve, taskexec::Engine<"flaky"> {
    ReserveResult execute(const ReserveParams&) { return {"flaky", 0}; }
};
struct FlakyRelease : Release, taskexec::Engine<"flaky"> {
    json execute(const json&) { throw NotStd{}; }
};
struct AnyShip : Ship, taskexec::any_engine {
    json execute(const json& p, taskexec::Context& ctx) {
        const std::string mode = p.is_object() ? p.value("ship_mode", std::string()) : "";
        act(mode);
        if (mode == "bad_result") return {{"tracking", 7}};  // does not convert to ShipResult
        if (mode == "negative") return {{"tracking", "t"}, {"parcels", -1}};  // to_json throws
        return {{"tracking", std::string(ctx.engine())}, {"parcels", 1}};
    }
};
struct MemCount : Count, taskexec::Engine<"mem"> {
    int execute(int n) { return n == 2147483647 ? 0 : n + 1; }
};
struct MemNested : Nested, taskexec::Engine<"mem"> {
    json execute(const json& p) {
        // Re-enters dispatch with part of its own payload; its failure nests.
        const json inner = p.is_object() ? p.value("inner", json()) : json();
        return taskexec::executor("fz.single", "fz.count", "mem", inner);
    }
};

TASKEXEC_ENGINE(MemReserve);
TASKEXEC_ENGINE(MemRelease);
TASKEXEC_ENGINE(MemCharge);
TASKEXEC_ENGINE(FlakyCharge);
TASKEXEC_ENGINE(FlakyReserve);
TASKEXEC_ENGINE(FlakyRelease);
TASKEXEC_ENGINE(AnyShip);
TASKEXEC_ENGINE(MemCount);
TASKEXEC_ENGINE(MemNested);

struct Orders : taskexec::Workflow<"fz.orders", Reserve, Charge, Ship> {};
struct Single : taskexec::Workflow<"fz.single", Count, Nested, Lonely> {};
TASKEXEC_WORKFLOW(Orders);
TASKEXEC_WORKFLOW(Single);

}  // namespace fz

namespace {

// ---- checks -----------------------------------------------------------------

/// Replaces "pw:..." string values with the sentinel, and gives an object
/// payload a top-level "password" holding it.
void plant(json& value) {
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        if (s.rfind(secret_marker, 0) == 0) value = std::string(sentinel) + s.substr(3);
    } else if (value.is_structured()) {
        for (json& child : value) plant(child);
    }
}

/// dump(), or abort: a host logs errors and reports as JSON text, so they
/// must serialise (nlohmann throws on invalid UTF-8).
std::string dumped(const json& j, const char* what) {
    try {
        return j.dump();
    } catch (const std::exception& e) {
        fail(what, e.what());
    }
}

void check_error(const taskexec::error& e, bool leak_check, const char* where) {
    const json j = e.to_json();
    const std::string text = dumped(j, "error::to_json() does not serialise");
    if (!j.is_object() || j.value("code", std::string()) != taskexec::to_string(e.code()) ||
        j.value("message", std::string()) != e.what())
        fail("to_json() does not match code()/what()", text);
    if (leak_check && (holds_sentinel(e.what()) || holds_sentinel(text)))
        fail("the sentinel leaked into an error", std::string(where) + ": " + text);
    if (e.code() == taskexec::errc::task_failed) {
        // The original exception is kept nested.
        bool nested = false;
        try {
            std::rethrow_if_nested(e);
        } catch (...) {
            nested = true;
        }
        if (!nested) fail("task_failed without a nested exception", e.what());
    }
}

void check_report(const taskexec::RunReport& r, const std::string& workflow, bool leak_check) {
    const std::string text = dumped(r.to_json(), "RunReport::to_json() does not serialise");
    const std::vector<std::string> tasks = taskexec::WorkflowRegistry::instance().tasks(workflow);
    if (r.steps.size() != tasks.size()) fail("one step per task", text);
    bool ended = false, all_ok = true;
    for (std::size_t i = 0; i < r.steps.size(); ++i) {
        const taskexec::StepReport& s = r.steps[i];
        if (s.task != tasks[i]) fail("steps out of order", text);
        const bool good =
            s.status == taskexec::step_status::ok || s.status == taskexec::step_status::compensated;
        all_ok = all_ok && s.status == taskexec::step_status::ok;
        if (ended && s.status != taskexec::step_status::skipped)
            fail("a step after the end of the run was not skipped", text);
        if (!ended && !good) {
            ended = true;
            if (s.status == taskexec::step_status::skipped)
                fail("the step that ended the run is skipped", text);
            if (!s.error.is_object() || !s.error.contains("code"))
                fail("a stopped or failed step without an error", text);
        }
    }
    if (r.ok != all_ok) fail("ok does not match the steps", text);
    if (r.ok && !r.compensations.empty()) fail("compensations in a successful run", "");
    for (const taskexec::StepReport& c : r.compensations)
        if (c.undoes.empty()) fail("a compensation that undoes nothing", text);
    if (leak_check && holds_sentinel(text)) fail("the sentinel leaked into a run report", text);
}

std::string string_field(const json& request, const char* key) {
    const auto it = request.find(key);
    return it != request.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    json request = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (request.is_discarded() || !request.is_object()) return -1;  // not worth keeping

    const std::string workflow = string_field(request, "workflow");
    const std::string task = string_field(request, "task");
    const std::string engine = string_field(request, "engine");
    json payload = request.value("payload", json());
    plant(payload);
    if (payload.is_object() && !payload.contains("password")) payload["password"] = sentinel;
    // Names are echoed in messages by design: no leak check if one holds it.
    const bool leak_check = !holds_sentinel(workflow) && !holds_sentinel(task) &&
                            !holds_sentinel(engine) && !holds_sentinel(text);

    // 1. executor()
    try {
        (void)taskexec::executor(workflow, task, engine, payload);
    } catch (const taskexec::error& e) {
        check_error(e, leak_check, "executor");
    } catch (...) {
        fail("executor() let something other than taskexec::error escape", request.dump());
    }

    // 2. resolve() once, call the Route twice.
    try {
        const taskexec::Route route = taskexec::resolve(workflow, task, engine);
        for (int i = 0; i < 2; ++i) {
            try {
                (void)route(payload);
            } catch (const taskexec::error& e) {
                check_error(e, leak_check, "route");
            }
        }
    } catch (const taskexec::error& e) {
        check_error(e, leak_check, "resolve");
    } catch (...) {
        fail("resolve()/Route let something other than taskexec::error escape", request.dump());
    }

    // 3. run_workflow(), with the options the request asks for.
    taskexec::RunOptions options;
    std::stop_source stop;
    bool negative = false;
    if (const auto it = request.find("options"); it != request.end() && it->is_object()) {
        const json& o = *it;
        if (o.contains("step_timeout_ms") && o["step_timeout_ms"].is_number_integer())
            options.step_timeout =
                std::chrono::milliseconds(o["step_timeout_ms"].get<std::int64_t>());
        if (o.contains("run_timeout_ms") && o["run_timeout_ms"].is_number_integer())
            options.run_timeout =
                std::chrono::milliseconds(o["run_timeout_ms"].get<std::int64_t>());
        negative = options.step_timeout.count() < 0 || options.run_timeout.count() < 0;
        if (o.value("stop", false) == true) stop.request_stop();
        options.stop = stop.get_token();
        if (o.value("events", false) == true) {
            options.on_event = [leak_check](const json& e) {
                if (!e.is_object() || !e.contains("event") || !e.contains("workflow"))
                    fail("an event without its keys", "");
                const std::string event = dumped(e, "an event does not serialise");
                if (leak_check && holds_sentinel(event))
                    fail("the sentinel leaked into an event", event);
                if (e.value("event", std::string()) == "step_finished")
                    throw std::runtime_error("listener failure is swallowed");
            };
        }
    }
    try {
        const taskexec::RunReport report =
            taskexec::run_workflow(workflow, engine, payload, options);
        check_report(report, workflow, leak_check);
    } catch (const taskexec::error& e) {
        check_error(e, leak_check, "run_workflow");
    } catch (const std::invalid_argument& e) {
        if (!negative) fail("std::invalid_argument without a negative timeout", e.what());
    } catch (...) {
        fail("run_workflow() let something other than taskexec::error escape", request.dump());
    }
    return 0;
}
