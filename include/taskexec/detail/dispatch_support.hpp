// taskexec/detail/dispatch_support.hpp — the cold half of every engine call.
//
// Each engine class gets its own invoke function (detail/invoke.hpp),
// compiled in the file that registers the engine. What that function does
// when a request is wrong — naming the field at fault, wording the error —
// is the same for every engine, and it is most of the code. So it is not
// compiled there: the code that dispatches (executor.hpp, run.hpp) passes a
// table of these functions to every invoke function, and the table is
// compiled where requests are dispatched (detail/dispatch_errors.hpp, which
// also wraps what engines throw). A file that only defines and registers
// engines stays cheap to compile: it needs neither this code nor Context's
// definition (<stop_token>, <chrono>).
#pragma once

#include <string_view>

#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// The JSON of a default-constructed Payload (its shape), or null.
using ShapeFn = const json& (*)();
/// Converts a JSON value to Payload and back to JSON; throws if it cannot.
using ProbeFn = json (*)(const json&);

/// What an engine's invoke function calls when a conversion goes wrong. Each
/// throws a detail::dispatch_failure, which the dispatcher passes on as is.
/// (invalid_payload and task_failed never return; callers mark that with
/// TASKEXEC_INTERNAL_UNREACHABLE, as a pointer cannot be [[noreturn]].)
struct DispatchSupport {
    /// Throws invalid_payload for `payload`, which did not convert to the
    /// Payload whose shape `shape` gives, naming the field at fault.
    void (*invalid_payload)(const Context& ctx, const json& payload, ShapeFn shape);
    /// Throws invalid_payload if `payload` (which holds a float) gives a
    /// float for an integer field; returns otherwise (detail/payload_diagnosis.hpp).
    void (*refuse_float_for_integer)(const Context& ctx, const json& payload, ProbeFn probe,
                                     ShapeFn shape);
    /// Rethrows the exception being handled as task_failed, nested; call it
    /// only from inside a catch block.
    void (*task_failed)(const Context& ctx, std::string_view what_failed);
};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
