// taskexec/detail/resolve.hpp — one place where a request meets the registry.
//
// executor(), resolve() and workflow runs all come through here, so the
// order of checks — workflow, membership, task conflict, engine, engine
// conflict — and the wording of each failure exist once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <taskexec/detail/index.hpp>
#include <taskexec/detail/registry.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// A resolved (workflow, task, engine): everything a call needs.
using Resolved = RouteEntry;

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_conflict(const Conflict& c, json where) {
    throw error(errc::registration_conflict,
                "registration conflict: " + c.kind + " " + quote_name(c.name) +
                    " is registered by different classes at " + c.sites_text(),
                std::move(where));
}

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_unknown_workflow(const Index& ix,
                                                                       std::string_view w) {
    const auto names = ix.workflow_names();
    throw error(errc::unknown_workflow,
                "unknown workflow " + quote_name(w) + "; registered workflows: " + name_list(names) +
                    did_you_mean(w, names),
                {{"workflow", w}});
}

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_task_not_in_workflow(
    const WorkflowEntry& wf, std::string_view t) {
    const auto names = Index::task_names(wf);
    throw error(errc::task_not_in_workflow,
                "task " + quote_name(t) + " is not in workflow " + quote_name(wf.name) +
                    "; its tasks: " + name_list(names) + did_you_mean(t, names),
                {{"workflow", wf.name}, {"task", t}});
}

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_unknown_engine(std::string_view workflow,
                                                                     const TaskEntry& task,
                                                                     std::string_view e) {
    const auto names = Index::engine_names(task);
    // The "*" fallback serves valid engine names only: an invalid one (any
    // bytes from a request) is never a backend, so say that instead.
    const bool invalid = !is_valid_name(e) && task.fallback != nullptr;
    std::string message = "no engine " + quote_name(e) + " for task " + quote_name(task.name()) +
                          (invalid ? " (not a valid engine name, so the \"*\" fallback does not "
                                     "serve it); "
                                   : " and no \"*\" fallback; ");
    if (names.empty())
        message += "the task has no engines registered (if they are in a static library, "
                   "link it with taskexec_link_registrations() so the linker keeps them)";
    else
        message += "its engines: " + name_list(names) + did_you_mean(e, names);
    throw error(errc::unknown_engine, message,
                {{"workflow", workflow}, {"task", task.name()}, {"engine", e}});
}

/// Resolves a request or throws the matching taskexec::error.
inline Resolved resolve_in(const Index& ix, std::string_view w, std::string_view t,
                           std::string_view e) {
    if (const RouteEntry* route = ix.find_route(w, t, e)) return *route;
    const WorkflowEntry* wf = ix.find_workflow(w);
    if (wf == nullptr) throw_unknown_workflow(ix, w);
    if (wf->conflict != nullptr) throw_conflict(*wf->conflict, {{"workflow", w}});
    const TaskEntry* task = wf->find_task(t);
    if (task == nullptr) throw_task_not_in_workflow(*wf, t);
    if (task->conflict != nullptr)
        throw_conflict(*task->conflict, {{"workflow", w}, {"task", t}});
    const EngineEntry* engine = ix.find_engine(t, e);
    // Only a valid name may fall back: "At run time an invalid name is
    // simply unknown".
    if (engine == nullptr && is_valid_name(e)) engine = task->fallback;
    if (engine == nullptr) throw_unknown_engine(w, *task, e);
    if (engine->conflict != nullptr)
        throw_conflict(*engine->conflict, {{"workflow", w}, {"task", t}, {"engine", e}});
    return Resolved{wf, task, engine};
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
