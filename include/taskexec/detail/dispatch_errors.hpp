// taskexec/detail/dispatch_errors.hpp — the DispatchSupport of this module.
//
//     json result = call_engine(entry->invoke, payload, ctx);
//
// Included by the code that dispatches (executor.hpp, run.hpp), so the cold
// paths of every engine call are compiled there, once per file that
// dispatches, and not in every file that registers an engine.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <taskexec/context.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/detail/dispatch_support.hpp>
#include <taskexec/detail/payload_diagnosis.hpp>
#include <taskexec/detail/records.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// An error the dispatch raised about the call itself — the payload did not
/// convert, or the result did not — rather than one the engine threw.
/// call_engine() lets it through unchanged, once: if it escapes into an
/// engine that made the call (a dispatch nested in an engine), it is that
/// engine's failure like any other exception. Callers see a taskexec::error.
class TASKEXEC_API dispatch_failure : public error {
public:
    explicit dispatch_failure(error e) noexcept : error(std::move(e)) {}
    bool fresh = true;  ///< not yet past the call_engine() of the call it is about
};

/// Rethrows the exception being handled as task_failed, keeping it nested.
/// Must be called from inside a catch block. `Error`: error, or
/// dispatch_failure when the invoke function reports its own failure.
template <class Error = error>
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
    std::throw_with_nested(
        Error(error(errc::task_failed,
                    "task " + quote_name(ctx.task()) + " failed on engine " +
                        quote_name(ctx.engine()) + " in workflow " + quote_name(ctx.workflow()) +
                        ": " + std::string(what_failed) + original,
                    std::move(where))));
}

/// The DispatchSupport entries: the errors of payload_diagnosis.hpp and
/// throw_task_failed, thrown as dispatch_failure.
[[noreturn]] TASKEXEC_INTERNAL_COLD inline void support_invalid_payload(const Context& ctx,
                                                                        const json& payload,
                                                                        ShapeFn shape) {
    try {
        throw_invalid_payload(ctx, payload, shape);
    } catch (error& e) {
        throw dispatch_failure(std::move(e));
    }
}

TASKEXEC_INTERNAL_COLD inline void support_refuse_float_for_integer(const Context& ctx,
                                                                    const json& payload,
                                                                    ProbeFn probe, ShapeFn shape) {
    try {
        refuse_float_for_integer(ctx, payload, probe, shape);
    } catch (error& e) {
        throw dispatch_failure(std::move(e));
    }
}

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void support_task_failed(const Context& ctx,
                                                                    std::string_view what_failed) {
    throw_task_failed<dispatch_failure>(ctx, what_failed);
}

/// The table every Context made in this module carries.
inline constexpr DispatchSupport dispatch_support{
    &support_invalid_payload,
    &support_refuse_float_for_integer,
    &support_task_failed,
};

/// Calls an engine's invoke function. What the engine throws becomes
/// task_failed, with the original nested; the dispatch's own errors
/// (invalid_payload, a result that does not convert) pass through. The
/// invoke functions catch nothing, so they keep no state alive for a
/// handler and the engine's call stays as cheap as a direct one.
inline json call_engine(InvokeFn invoke, const json& payload, Context& ctx) {
    try {
        return invoke(payload, ctx, dispatch_support);
    } catch (dispatch_failure& e) {
        if (!e.fresh) throw_task_failed(ctx, "");  // from a dispatch inside the engine
        e.fresh = false;
        throw;
    } catch (...) {
        throw_task_failed(ctx, "");
    }
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
