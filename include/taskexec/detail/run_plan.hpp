// taskexec/detail/run_plan.hpp — resolving a whole workflow run up front.
//
//     const RunPlan plan = plan_run(Registry::instance().index(), "sales", "postgres");
//     for (const StepPlan& s : plan.steps) call_engine(s.engine->invoke, payload, ctx);
//
// A run resolves every step and every compensation for its engine before it
// starts anything: an unknown workflow, a missing engine or a conflict must
// throw while there is still nothing to undo. The checks and their wording
// are resolve_in()'s, so a run fails exactly as executor() would.
//
// Compensations need not be listed by the workflow, so they are resolved by
// task name: the task's engine of that type, else its "*" fallback.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <taskexec/detail/index.hpp>
#include <taskexec/detail/records.hpp>
#include <taskexec/detail/resolve.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>
#include <taskexec/fixed_string.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// One step of a run: its engine, and the compensation that undoes it.
struct StepPlan {
    const TaskEntry* task = nullptr;
    const EngineEntry* engine = nullptr;
    const TaskEntry* compensation = nullptr;  ///< null: nothing to undo
    const EngineEntry* compensation_engine = nullptr;
};

/// Everything a run calls, resolved.
struct RunPlan {
    const WorkflowEntry* workflow = nullptr;
    std::vector<StepPlan> steps;  ///< workflow order
};

/// The (compensation task, engine) that undoes `step`, or nulls if the task
/// declares none. Throws as resolve_in() does.
inline StepPlan resolve_compensation(const Index& ix, std::string_view workflow,
                                     const TaskEntry& step, std::string_view engine) {
    StepPlan out;
    if (step.info->compensation == nullptr) return out;
    const TaskInfo* info = step.info->compensation();
    const TaskEntry* task = ix.find_task(info->name);
    if (task == nullptr) {
        // Named by `using compensation` only: no engine can exist for it.
        // A stand-in entry gives the usual unknown_engine message.
        const TaskEntry unregistered{info, {}, nullptr, nullptr, {}, nullptr};
        throw_unknown_engine(workflow, unregistered, engine);
    }
    if (task->conflict != nullptr)
        throw_conflict(*task->conflict, {{"workflow", workflow}, {"task", info->name}});
    if (!same_type(task->info->identity, info->identity))
        // Another Task<> specialisation holds the name; this one was never
        // registered, so the index could not record the conflict.
        throw error(errc::registration_conflict,
                    "registration conflict: task " + quote_name(info->name) +
                        ", the compensation of " + quote_name(step.name()) +
                        ", is a different Task<> specialisation from the task " +
                        "of that name registered at " + task->site.to_string(),
                    {{"workflow", workflow}, {"task", info->name}});
    const EngineEntry* entry = ix.find_engine(info->name, engine);
    if (entry == nullptr && is_valid_name(engine)) entry = task->fallback;
    if (entry == nullptr) throw_unknown_engine(workflow, *task, engine);
    if (entry->conflict != nullptr)
        throw_conflict(*entry->conflict,
                       {{"workflow", workflow}, {"task", info->name}, {"engine", engine}});
    out.compensation = task;
    out.compensation_engine = entry;
    return out;
}

/// Resolves every step of `workflow` and its compensation for `engine`.
inline RunPlan plan_run(const Index& ix, std::string_view workflow, std::string_view engine) {
    RunPlan plan;
    plan.workflow = ix.find_workflow(workflow);
    if (plan.workflow == nullptr) throw_unknown_workflow(ix, workflow);
    if (plan.workflow->conflict != nullptr)
        throw_conflict(*plan.workflow->conflict, {{"workflow", workflow}});
    plan.steps.reserve(plan.workflow->tasks.size());
    for (const TaskEntry* task : plan.workflow->tasks) {
        const Resolved r = resolve_in(ix, workflow, task->name(), engine);
        StepPlan step = resolve_compensation(ix, workflow, *r.task, engine);
        step.task = r.task;
        step.engine = r.engine;
        plan.steps.push_back(step);
    }
    return plan;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
