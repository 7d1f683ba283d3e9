// taskexec/detail/engine_traits.hpp — what makes a class a valid engine.
//
// TASKEXEC_ENGINE checks these in order and stops at the first failure, so a
// misuse produces exactly one diagnostic: a static_assert starting with
// "taskexec:", before the compiler tries anything that would fail noisily.
#pragma once

#include <type_traits>
#include <utility>

#include <taskexec/detail/tags.hpp>
#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

template <class E, class P>
concept has_plain_execute = requires(E& engine, const P& payload) {
    engine.execute(payload);
};

template <class E, class P>
concept has_context_execute = requires(E& engine, const P& payload, Context& ctx) {
    engine.execute(payload, ctx);
};

template <class E>
constexpr bool takes_context() {
    return has_context_execute<E, typename E::payload_type>;
}

template <class E, class P, bool WithContext = has_context_execute<E, P>>
struct execute_result {
    using type = decltype(std::declval<E&>().execute(std::declval<const P&>()));
};
template <class E, class P>
struct execute_result<E, P, true> {
    using type =
        decltype(std::declval<E&>().execute(std::declval<const P&>(), std::declval<Context&>()));
};
/// What the engine's one execute returns.
template <class E>
using execute_result_t = typename execute_result<E, typename E::payload_type>::type;

/// Checks an engine class; true when it may be registered. Each failed
/// check is one static_assert and the later checks are not evaluated.
template <class E>
constexpr bool check_engine() {
    if constexpr (!has_base_v<E, task_tag>) {
        static_assert(has_base_v<E, task_tag>,
                      "taskexec: an engine class must derive from a task class "
                      "(one deriving from taskexec::Task<...>)");
        return false;
    } else if constexpr (!has_unique_base_v<E, task_tag>) {
        static_assert(has_unique_base_v<E, task_tag>,
                      "taskexec: an engine class must derive from exactly one task class, "
                      "not two");
        return false;
    } else if constexpr (!has_base_v<E, engine_tag>) {
        static_assert(has_base_v<E, engine_tag>,
                      "taskexec: an engine class must derive from taskexec::Engine<\"type\"> "
                      "(or taskexec::any_engine)");
        return false;
    } else if constexpr (!has_unique_base_v<E, engine_tag>) {
        static_assert(has_unique_base_v<E, engine_tag>,
                      "taskexec: an engine class must derive from exactly one "
                      "taskexec::Engine<...>, not two");
        return false;
    } else if constexpr (!std::is_default_constructible_v<E>) {
        static_assert(std::is_default_constructible_v<E>,
                      "taskexec: an engine class must be default-constructible "
                      "(a fresh object is made for every call)");
        return false;
    } else if constexpr (has_plain_execute<E, typename E::payload_type> ==
                         has_context_execute<E, typename E::payload_type>) {
        static_assert(has_plain_execute<E, typename E::payload_type> !=
                          has_context_execute<E, typename E::payload_type>,
                      "taskexec: an engine class must define exactly one of "
                      "`Result execute(const Payload&)` and "
                      "`Result execute(const Payload&, taskexec::Context&)`");
        return false;
    } else if constexpr (!std::is_convertible_v<execute_result_t<E>, typename E::result_type>) {
        static_assert(std::is_convertible_v<execute_result_t<E>, typename E::result_type>,
                      "taskexec: an engine's execute must return something convertible to "
                      "the task's Result type");
        return false;
    } else {
        return true;
    }
}

/// Checks a task class given to TASKEXEC_TASK.
template <class T>
constexpr bool check_task() {
    if constexpr (!is_task_v<T>) {
        static_assert(is_task_v<T>,
                      "taskexec: TASKEXEC_TASK needs a task class (deriving from exactly one "
                      "taskexec::Task<...>)");
        return false;
    } else {
        return true;
    }
}

/// Checks a workflow class given to TASKEXEC_WORKFLOW (Workflow<> itself
/// checks its name and task list when it is instantiated).
template <class W>
constexpr bool check_workflow() {
    if constexpr (!has_unique_base_v<W, workflow_tag>) {
        static_assert(has_unique_base_v<W, workflow_tag>,
                      "taskexec: TASKEXEC_WORKFLOW needs a class deriving from exactly one "
                      "taskexec::Workflow<...>");
        return false;
    } else {
        return true;
    }
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
