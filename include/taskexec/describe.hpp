// taskexec/describe.hpp — everything registered, as JSON.
//
//     std::cout << taskexec::describe().dump(2);
//
// {"workflows": [{"name", "tasks" (declared order), "complete_engines"}],
//  "tasks": [{"name", "description", "engines": [{"name", "site", "origin"}]}],
//  "conflicts": [{"kind", "name", "sites"}]}
//
// Every key is always present; lists are sorted bytewise by name (except a
// workflow's tasks). `complete_engines` are the engine types that can run
// every task of the workflow, directly or through "*", plus "*" when every
// task has a fallback. A conflicted task or engine pair cannot run, so it
// makes no engine complete.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <taskexec/detail/index.hpp>
#include <taskexec/detail/registry.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

inline json origin_json(const std::string* origin) {
    return origin == nullptr ? json("executable") : json(*origin);
}

/// Can `engine` run `task` (directly or through "*")?
inline bool can_run(const Index& ix, const TaskEntry& task, std::string_view engine) {
    if (task.conflict != nullptr) return false;
    const EngineEntry* e = ix.find_engine(task.name(), engine);
    if (e == nullptr) e = task.fallback;
    return e != nullptr && e->conflict == nullptr;
}

inline json complete_engines(const Index& ix, const WorkflowEntry& wf) {
    std::set<std::string_view> candidates;  // std::set: sorted bytewise
    for (const TaskEntry* t : wf.tasks)
        for (const EngineEntry* e : t->engines)
            if (e->type != fallback_engine) candidates.insert(e->type);
    json out = json::array();
    for (std::string_view engine : candidates) {
        const bool all = std::all_of(wf.tasks.begin(), wf.tasks.end(),
                                     [&](const TaskEntry* t) { return can_run(ix, *t, engine); });
        if (all) out.push_back(engine);
    }
    const bool all_fallback = std::all_of(wf.tasks.begin(), wf.tasks.end(), [&](const TaskEntry* t) {
        return can_run(ix, *t, fallback_engine);
    });
    // "*" sorts before letters, but the contract lists it last ("plus").
    if (all_fallback) out.push_back(fallback_engine);
    return out;
}

}  // namespace detail

/// The registry as JSON (see the header comment for the shape).
inline json describe() {
    const detail::Index& ix = detail::Registry::instance().index();
    json workflows = json::array();
    for (const detail::WorkflowEntry* w : ix.sorted_workflows) {
        workflows.push_back({{"name", w->name},
                             {"tasks", detail::Index::task_names(*w)},
                             {"complete_engines", detail::complete_engines(ix, *w)}});
    }
    json tasks = json::array();
    for (const detail::TaskEntry* t : ix.sorted_tasks) {
        json engines = json::array();
        for (const detail::EngineEntry* e : t->engines)
            engines.push_back({{"name", e->type},
                               {"site", e->site.to_string()},
                               {"origin", detail::origin_json(e->origin)}});
        tasks.push_back({{"name", t->name()},
                         {"description", t->info->description},
                         {"engines", std::move(engines)}});
    }
    json conflicts = json::array();
    for (const detail::Conflict* c : ix.conflicts) {
        json sites = json::array();
        for (const detail::Site& s : c->sites) sites.push_back(s.to_string());
        conflicts.push_back({{"kind", c->kind}, {"name", c->name}, {"sites", std::move(sites)}});
    }
    return {{"workflows", std::move(workflows)},
            {"tasks", std::move(tasks)},
            {"conflicts", std::move(conflicts)}};
}

}  // namespace v2
}  // namespace taskexec
