// taskexec/workflow.hpp — Workflow<>: a named, ordered list of tasks.
//
//     struct SalesWorkflow
//         : taskexec::Workflow<"sales", QuiesceDb, SnapshotFiles, UnquiesceDb> {};
//     TASKEXEC_WORKFLOW(SalesWorkflow);
//
// A workflow may be registered before its tasks have engines, in any link
// order: membership and engines are resolved when the workflow is used.
#pragma once

#include <string_view>

#include <taskexec/detail/tags.hpp>
#include <taskexec/fixed_string.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// True when no two of the tasks share a name. Only asked when every Ts is a
/// task, so that a non-task produces one diagnostic, not two.
template <class... Ts>
constexpr bool distinct_task_names() {
    if constexpr (!(is_task_v<Ts> && ...)) {
        return true;
    } else {
        constexpr std::string_view names[] = {Ts::task_name...};
        for (std::size_t i = 0; i < sizeof...(Ts); ++i)
            for (std::size_t j = i + 1; j < sizeof...(Ts); ++j)
                if (names[i] == names[j]) return false;
        return true;
    }
}

}  // namespace detail

/// A workflow: a name and the task classes it runs, in order.
template <fixed_string Name, class... Tasks>
struct Workflow : detail::workflow_tag {
    static_assert(detail::is_valid_name(Name.view()),
                  "taskexec: a workflow name must be 1 to 64 characters of [A-Za-z0-9_.-]");
    static_assert(sizeof...(Tasks) > 0, "taskexec: a workflow must list at least one task");
    static_assert((detail::is_task_v<Tasks> && ...),
                  "taskexec: a workflow may only list task classes (deriving from "
                  "exactly one taskexec::Task<...>)");
    static_assert(detail::distinct_task_names<Tasks...>(),
                  "taskexec: a workflow must not list a task twice");

    static constexpr std::string_view workflow_name = Name.view();
    using task_list = detail::type_list<Tasks...>;
};

}  // namespace v2
}  // namespace taskexec
