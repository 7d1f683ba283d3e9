// taskexec/error.hpp — the one exception type taskexec throws.
//
//     try {
//         taskexec::executor("sales", "quiesce_db", "postgres", payload);
//     } catch (const taskexec::error& e) {
//         if (e.code() == taskexec::errc::unknown_engine) ...
//         log(e.to_json().dump());   // {"code":"unknown_engine","message":...}
//     }
//
// Messages name workflows, tasks, engines and payload *fields*, never payload
// values: payloads carry credentials. The class has default visibility so a
// host can catch what a plugin built with -fvisibility=hidden throws.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <taskexec/detail/shown_name.hpp>
#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {

/// What went wrong; `to_string(errc)` gives the name used in JSON.
enum class errc {
    unknown_workflow,       ///< workflow not registered
    task_not_in_workflow,   ///< the workflow does not list that task
    unknown_engine,         ///< no engine of that type and no "*" fallback
    invalid_payload,        ///< payload does not convert to the task's Payload
    task_failed,            ///< the engine threw, or its Result did not convert
    registration_conflict,  ///< a name is claimed by two classes
    plugin_load_failed,     ///< a plugin could not be loaded
    timed_out,              ///< a deadline passed
    cancelled,              ///< a stop was requested
};

/// The name of an error code, e.g. "unknown_engine".
constexpr std::string_view to_string(errc code) noexcept {
    switch (code) {
        case errc::unknown_workflow: return "unknown_workflow";
        case errc::task_not_in_workflow: return "task_not_in_workflow";
        case errc::unknown_engine: return "unknown_engine";
        case errc::invalid_payload: return "invalid_payload";
        case errc::task_failed: return "task_failed";
        case errc::registration_conflict: return "registration_conflict";
        case errc::plugin_load_failed: return "plugin_load_failed";
        case errc::timed_out: return "timed_out";
        case errc::cancelled: return "cancelled";
    }
    return "unknown";
}

/// The exception type of every taskexec failure.
///
/// `context` holds the keys that apply of `workflow`, `task`, `engine`,
/// `field` (and, for plugin failures, `path`/`loaded`); `to_json()` merges it
/// with `code` and `message`. Copying is cheap and never throws, as an
/// exception's copy must: the context is shared, immutable.
class TASKEXEC_API error : public std::runtime_error {
public:
    error(errc code, const std::string& message, json context = json::object())
        : std::runtime_error(message),
          code_(code),
          context_(std::make_shared<const json>(printable(std::move(context)))) {}

    /// The error's kind.
    errc code() const noexcept { return code_; }

    /// The context keys (workflow, task, engine, field, ...), an object.
    const json& context() const noexcept { return *context_; }

    /// `{"code": "<errc name>", "message": what(), ...context}`.
    json to_json() const {
        json out = *context_;
        out["code"] = std::string(to_string(code_));
        // An engine's own message (nested in task_failed) may hold any bytes.
        const std::string_view message = what();
        out["message"] = detail::valid_utf8(message) ? std::string(message)
                                                      : detail::shown_name(message, message.size());
        return out;
    }

private:
    // Context names may be a caller's unregistered name (any bytes): escape
    // them, so that to_json().dump() never throws on invalid UTF-8.
    static json printable(json context) {
        if (!context.is_object()) return context;
        for (auto it = context.begin(); it != context.end(); ++it) {
            json& value = it.value();
            if (value.is_string() && !detail::shows_as_is(value.get_ref<const std::string&>()))
                value = detail::shown_name(value.get_ref<const std::string&>());
        }
        return context;
    }

    errc code_;
    std::shared_ptr<const json> context_;
};

}  // namespace v2
}  // namespace taskexec
