// taskexec/detail/invoke.hpp — the type-erased call of one engine class.
//
// One instantiation per engine class: convert the payload, construct a fresh
// engine, call execute, convert the result. The errors of the conversions
// are thrown through the dispatching code's DispatchSupport
// (dispatch_support.hpp) and whatever the engine throws is wrapped by the
// dispatcher (call_engine), so the per-engine code stays small and the files
// that register engines compile fast.
#pragma once

#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/detail/dispatch_support.hpp>
#include <taskexec/detail/engine_traits.hpp>
#include <taskexec/detail/payload.hpp>
#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

template <class E, class P>
typename E::result_type run_engine(const P& payload, Context& ctx) {
    using Result = typename E::result_type;
    E engine;
    if constexpr (takes_context<E>())
        return static_cast<Result>(engine.execute(payload, ctx));
    else
        return static_cast<Result>(engine.execute(payload));
}

/// The InvokeFn of engine class E. `support` comes from the dispatching code.
/// What the engine throws is left to the dispatcher (call_engine() in
/// dispatch_errors.hpp), so a plain JSON engine's function has no handler
/// and keeps nothing alive around the engine's call.
template <class E>
json invoke_engine(const json& payload, Context& ctx, const DispatchSupport& support) {
    using Payload = typename E::payload_type;
    using Result = typename E::result_type;
    auto run = [&]() -> Result {
        if constexpr (std::is_same_v<Payload, json>)
            return run_engine<E>(payload, ctx);
        else
            return run_engine<E>(convert_payload<Payload>(payload, ctx, support), ctx);
    };
    if constexpr (std::is_same_v<Result, json>) {
        return run();
    } else {
        Result result = run();
        try {
            return json(std::move(result));
        } catch (...) {
            support.task_failed(ctx, "its result does not convert to JSON: ");
            TASKEXEC_INTERNAL_UNREACHABLE();
        }
    }
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
