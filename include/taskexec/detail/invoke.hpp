// taskexec/detail/invoke.hpp — the type-erased call of one engine class.
//
// One instantiation per engine class: convert the payload, construct a fresh
// engine, call execute, convert the result. Every failure leaves as a
// taskexec::error; the wording lives in out-of-line cold functions so the
// per-engine code stays small.
#pragma once

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>
#include <taskexec/context.hpp>
#include <taskexec/detail/engine_traits.hpp>
#include <taskexec/detail/payload.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v0 {
namespace detail {

/// Rethrows the exception being handled as task_failed, keeping it nested.
/// Must be called from inside a catch block.
[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_task_failed(const Context& ctx,
                                                                  std::string_view what_failed) {
    std::string original;
    try {
        throw;
    } catch (const std::exception& e) {
        original = e.what();
    } catch (...) {
        original = "an exception not derived from std::exception";
    }
    json where = {{"workflow", ctx.workflow()}, {"task", ctx.task()}, {"engine", ctx.engine()}};
    std::throw_with_nested(error(
        errc::task_failed,
        "task " + quote_name(ctx.task()) + " failed on engine " + quote_name(ctx.engine()) +
            " in workflow " + quote_name(ctx.workflow()) + ": " + std::string(what_failed) +
            original,
        std::move(where)));
}

template <class E, class P>
typename E::result_type run_engine(const P& payload, Context& ctx) {
    using Result = typename E::result_type;
    try {
        E engine;
        if constexpr (takes_context<E>())
            return static_cast<Result>(engine.execute(payload, ctx));
        else
            return static_cast<Result>(engine.execute(payload));
    } catch (...) {
        throw_task_failed(ctx, "");
    }
}

/// The InvokeFn of engine class E.
template <class E>
json invoke_engine(const json& payload, Context& ctx) {
    using Payload = typename E::payload_type;
    using Result = typename E::result_type;
    if constexpr (std::is_same_v<Result, json>) {
        if constexpr (std::is_same_v<Payload, json>)
            return run_engine<E>(payload, ctx);
        else
            return run_engine<E>(convert_payload<Payload>(payload, ctx), ctx);
    } else {
        Result result = [&] {
            if constexpr (std::is_same_v<Payload, json>)
                return run_engine<E>(payload, ctx);
            else
                return run_engine<E>(convert_payload<Payload>(payload, ctx), ctx);
        }();
        try {
            return json(std::move(result));
        } catch (...) {
            throw_task_failed(ctx, "its result does not convert to JSON: ");
        }
    }
}

}  // namespace detail
}  // namespace v0
}  // namespace taskexec
