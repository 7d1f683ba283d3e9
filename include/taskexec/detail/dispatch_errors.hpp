// taskexec/detail/dispatch_errors.hpp — the DispatchSupport of this module.
//
//     json result = entry->invoke(payload, ctx, dispatch_support);
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
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v1 {
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
    std::throw_with_nested(error(errc::task_failed,
                                 "task " + quote_name(ctx.task()) + " failed on engine " +
                                     quote_name(ctx.engine()) + " in workflow " +
                                     quote_name(ctx.workflow()) + ": " + std::string(what_failed) +
                                     original,
                                 std::move(where)));
}

/// The table every Context made in this module carries.
inline constexpr DispatchSupport dispatch_support{
    &throw_invalid_payload,
    &refuse_float_for_integer,
    &throw_task_failed,
};

}  // namespace detail
}  // namespace v1
}  // namespace taskexec
