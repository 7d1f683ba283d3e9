// taskexec/task.hpp — Task<>: an engine-independent unit of work.
//
//     struct QuiesceParams { std::string path; int max_hold_ms = 60000; };
//     NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(QuiesceParams, path, max_hold_ms)
//
//     struct QuiesceDb : taskexec::Task<"quiesce_db", QuiesceParams, QuiesceResult> {
//         static constexpr std::string_view description = "hold writes for a copy";
//         using compensation = UnquiesceDb;   // undoes it in a workflow run
//     };
//     TASKEXEC_TASK(QuiesceDb);   // optional: lists the task before any engine
//
// A task's identity is its Task<Name, Payload, Result> specialisation: two
// classes deriving from the same specialisation are the same task, two
// different specialisations with one name are a registration conflict.
#pragma once

#include <string_view>

#include <taskexec/detail/tags.hpp>
#include <taskexec/fixed_string.hpp>
#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {

/// A task: its name, payload type and result type. Payload and Result other
/// than json convert through nlohmann's to_json/from_json, so a missing or
/// mistyped field is `invalid_payload` before any engine code runs.
template <fixed_string Name, class Payload = json, class Result = json>
struct Task : detail::task_tag {
    static_assert(detail::is_valid_name(Name.view()),
                  "taskexec: a task name must be 1 to 64 characters of [A-Za-z0-9_.-]");

    static constexpr std::string_view task_name = Name.view();
    using payload_type = Payload;
    using result_type = Result;
    /// The specialisation itself: what identifies the task.
    using task_identity = Task;
};

}  // namespace v2
}  // namespace taskexec
