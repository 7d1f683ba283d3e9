// taskexec/detail/index.hpp — an immutable snapshot of every registration.
//
// The registry keeps registrations as an append-only list of records and,
// when someone looks something up after a change, builds an Index from them:
// duplicates of one class collapse, conflicts are found, names are sorted and
// hashed. An Index never changes once published, so any number of threads
// read it without locks; a newer registration publishes a newer Index.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <taskexec/detail/hash_index.hpp>
#include <taskexec/detail/records.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// A name claimed by two or more classes; `sites` in registration order.
struct Conflict {
    std::string kind;  ///< "task", "engine" or "workflow"
    std::string name;  ///< the task, "task/engine" or workflow name
    std::vector<Site> sites;

    /// "a.cpp:12 and b.cpp:30" (or "a, b and c").
    std::string sites_text() const {
        std::string out;
        for (std::size_t i = 0; i < sites.size(); ++i) {
            if (i > 0) out += (i + 1 == sites.size()) ? " and " : ", ";
            out += sites[i].to_string();
        }
        return out;
    }
};

struct TaskEntry;

/// One (task, engine type) implementation.
struct EngineEntry {
    const TaskEntry* task = nullptr;
    std::string_view type;
    InvokeFn invoke = nullptr;
    Site site;
    const std::string* origin = nullptr;
    const std::type_info* identity = nullptr;
    const Conflict* conflict = nullptr;  ///< set: every dispatch to it throws
};

/// One task name. After a task conflict it describes the first registration.
struct TaskEntry {
    const TaskInfo* info = nullptr;
    Site site;
    const std::string* origin = nullptr;
    const Conflict* conflict = nullptr;
    std::vector<const EngineEntry*> engines;  ///< sorted by type, "*" included
    const EngineEntry* fallback = nullptr;    ///< the "*" engine, if any

    std::string_view name() const noexcept { return info->name; }
};

/// One workflow name. After a conflict it describes the first registration.
struct WorkflowEntry {
    std::string_view name;
    Site site;
    const std::string* origin = nullptr;
    const std::type_info* identity = nullptr;
    const Conflict* conflict = nullptr;
    std::vector<const TaskEntry*> tasks;  ///< declared order

    /// Membership by name; workflows are short, so a scan beats a hash.
    const TaskEntry* find_task(std::string_view task) const noexcept {
        for (const TaskEntry* t : tasks)
            if (t->name() == task) return t;
        return nullptr;
    }
};

/// A (workflow, task, engine) that dispatch can call without further checks.
struct RouteEntry {
    const WorkflowEntry* workflow = nullptr;
    const TaskEntry* task = nullptr;
    const EngineEntry* engine = nullptr;
    /// engine->invoke, copied here: dispatch then reads one entry less on
    /// its chain of dependent loads.
    InvokeFn invoke = nullptr;
};

/// The snapshot itself. Entries live in deques so pointers between them stay
/// valid while the snapshot is built.
class Index {
public:
    std::uint64_t generation = 0;

    std::deque<TaskEntry> tasks;
    std::deque<EngineEntry> engines;
    std::deque<WorkflowEntry> workflows;
    std::deque<Conflict> conflict_storage;
    std::deque<RouteEntry> routes;

    std::vector<const TaskEntry*> sorted_tasks;
    std::vector<const WorkflowEntry*> sorted_workflows;
    std::vector<const Conflict*> conflicts;  ///< by name, then kind

    HashIndex<TaskEntry> task_by_name;
    HashIndex<EngineEntry> engine_by_pair;  ///< (task, engine type)
    HashIndex<WorkflowEntry> workflow_by_name;
    /// Every conflict-free (workflow, task, registered engine type): the
    /// dispatch fast path is one hash of the three names and one probe.
    HashIndex<RouteEntry> route_by_names;

    const TaskEntry* find_task(std::string_view name) const noexcept {
        return task_by_name.find(name);
    }
    const WorkflowEntry* find_workflow(std::string_view name) const noexcept {
        return workflow_by_name.find(name);
    }
    const EngineEntry* find_engine(std::string_view task, std::string_view type) const noexcept {
        return engine_by_pair.find(task, type);
    }
    const RouteEntry* find_route(std::string_view workflow, std::string_view task,
                                 std::string_view engine) const noexcept {
        return route_by_names.find(workflow, task, engine);
    }

    std::vector<std::string_view> task_names() const {
        std::vector<std::string_view> out;
        out.reserve(sorted_tasks.size());
        for (const TaskEntry* t : sorted_tasks) out.push_back(t->name());
        return out;
    }
    std::vector<std::string_view> workflow_names() const {
        std::vector<std::string_view> out;
        out.reserve(sorted_workflows.size());
        for (const WorkflowEntry* w : sorted_workflows) out.push_back(w->name);
        return out;
    }
    static std::vector<std::string_view> engine_names(const TaskEntry& task) {
        std::vector<std::string_view> out;
        out.reserve(task.engines.size());
        for (const EngineEntry* e : task.engines) out.push_back(e->type);
        return out;
    }
    static std::vector<std::string_view> task_names(const WorkflowEntry& workflow) {
        std::vector<std::string_view> out;
        out.reserve(workflow.tasks.size());
        for (const TaskEntry* t : workflow.tasks) out.push_back(t->name());
        return out;
    }

    /// Builds the snapshot of `records` (in registration order).
    static std::unique_ptr<Index> build(const std::vector<Record>& records,
                                        std::uint64_t generation);

private:
    Conflict& add_conflict(std::string kind, std::string name, Site first, Site second) {
        conflict_storage.push_back(Conflict{std::move(kind), std::move(name), {first, second}});
        return conflict_storage.back();
    }
    TaskEntry& intern_task(const TaskInfo& info, const Record& r,
                           std::vector<std::pair<const TaskInfo*, TaskEntry*>>& by_name);
};

inline TaskEntry& Index::intern_task(const TaskInfo& info, const Record& r,
                                     std::vector<std::pair<const TaskInfo*, TaskEntry*>>& seen) {
    // `seen` holds every distinct task identity met so far, for conflict sites.
    TaskEntry* entry = const_cast<TaskEntry*>(task_by_name.find(info.name));
    if (entry == nullptr) {
        tasks.push_back(TaskEntry{&info, r.site, r.origin, nullptr, {}, nullptr});
        entry = &tasks.back();
        // The table was sized for every task a record can name.
        task_by_name.insert(info.name, {}, {}, entry);
        seen.emplace_back(&info, entry);
        return *entry;
    }
    if (same_type(entry->info->identity, info.identity)) return *entry;
    for (const auto& [known, owner] : seen)
        if (owner == entry && same_type(known->identity, info.identity)) return *entry;
    seen.emplace_back(&info, entry);
    if (entry->conflict == nullptr)
        entry->conflict = &add_conflict("task", std::string(info.name), entry->site, r.site);
    else
        const_cast<Conflict*>(entry->conflict)->sites.push_back(r.site);
    return *entry;
}

inline std::unique_ptr<Index> Index::build(const std::vector<Record>& records,
                                           std::uint64_t generation) {
    auto index = std::make_unique<Index>();
    Index& ix = *index;
    ix.generation = generation;

    std::size_t task_refs = 0, engine_count = 0, workflow_count = 0;
    for (const Record& r : records) {
        if (r.kind == record_kind::workflow) {
            ++workflow_count;
            task_refs += r.workflow_tasks.size();
        } else {
            ++task_refs;
            if (r.kind == record_kind::engine) ++engine_count;
        }
    }
    ix.task_by_name.reserve(task_refs);
    ix.engine_by_pair.reserve(engine_count);
    ix.workflow_by_name.reserve(workflow_count);

    // Tasks first, in registration order, so a task's site and its conflict
    // sites follow the order the static initialisers ran.
    std::vector<std::pair<const TaskInfo*, TaskEntry*>> seen_identities;
    for (const Record& r : records) {
        if (r.kind == record_kind::workflow) {
            for (const TaskInfo* t : r.workflow_tasks) ix.intern_task(*t, r, seen_identities);
        } else {
            ix.intern_task(*r.task, r, seen_identities);
        }
    }

    // Engines: a repeat of one class is a no-op; a second class is a conflict.
    // Engines of a task identity that lost a task conflict are not listed.
    for (const Record& r : records) {
        if (r.kind != record_kind::engine) continue;
        auto* task = const_cast<TaskEntry*>(ix.task_by_name.find(r.task->name));
        if (!same_type(task->info->identity, r.task->identity)) continue;
        if (const EngineEntry* existing = ix.engine_by_pair.find(r.task->name, r.engine_type)) {
            if (same_type(existing->identity, r.engine_identity)) continue;
            auto* entry = const_cast<EngineEntry*>(existing);
            if (entry->conflict == nullptr)
                entry->conflict = &ix.add_conflict(
                    "engine", std::string(r.task->name) + "/" + std::string(r.engine_type),
                    entry->site, r.site);
            else
                const_cast<Conflict*>(entry->conflict)->sites.push_back(r.site);
            continue;
        }
        ix.engines.push_back(EngineEntry{task, r.engine_type, r.invoke, r.site, r.origin,
                                         r.engine_identity, nullptr});
        EngineEntry* entry = &ix.engines.back();
        ix.engine_by_pair.insert(r.task->name, r.engine_type, {}, entry);
        task->engines.push_back(entry);
        if (r.engine_type == fallback_engine) task->fallback = entry;
    }

    // Workflows, then resolve their task lists against the task entries.
    for (const Record& r : records) {
        if (r.kind != record_kind::workflow) continue;
        if (const WorkflowEntry* existing = ix.workflow_by_name.find(r.workflow_name)) {
            if (same_type(existing->identity, r.workflow_identity)) continue;
            auto* entry = const_cast<WorkflowEntry*>(existing);
            if (entry->conflict == nullptr)
                entry->conflict =
                    &ix.add_conflict("workflow", std::string(r.workflow_name), entry->site, r.site);
            else
                const_cast<Conflict*>(entry->conflict)->sites.push_back(r.site);
            continue;
        }
        ix.workflows.push_back(
            WorkflowEntry{r.workflow_name, r.site, r.origin, r.workflow_identity, nullptr, {}});
        WorkflowEntry* entry = &ix.workflows.back();
        for (const TaskInfo* t : r.workflow_tasks) entry->tasks.push_back(ix.find_task(t->name));
        ix.workflow_by_name.insert(r.workflow_name, {}, {}, entry);
    }

    // Precomputed routes for the fast path; anything else (fallbacks for
    // unregistered types, errors) takes the checked path in resolve_in.
    std::size_t route_count = 0;
    for (const WorkflowEntry& w : ix.workflows)
        for (const TaskEntry* t : w.tasks) route_count += t->engines.size();
    ix.route_by_names.reserve(route_count);
    for (const WorkflowEntry& w : ix.workflows) {
        if (w.conflict != nullptr) continue;
        for (const TaskEntry* t : w.tasks) {
            if (t->conflict != nullptr) continue;
            for (const EngineEntry* e : t->engines) {
                if (e->conflict != nullptr) continue;
                ix.routes.push_back(RouteEntry{&w, t, e, e->invoke});
                ix.route_by_names.insert(w.name, t->name(), e->type, &ix.routes.back());
            }
        }
    }

    // Bytewise order everywhere (std::string_view compares bytewise).
    for (TaskEntry& t : ix.tasks) {
        std::sort(t.engines.begin(), t.engines.end(),
                  [](const EngineEntry* a, const EngineEntry* b) { return a->type < b->type; });
        ix.sorted_tasks.push_back(&t);
    }
    std::sort(ix.sorted_tasks.begin(), ix.sorted_tasks.end(),
              [](const TaskEntry* a, const TaskEntry* b) { return a->name() < b->name(); });
    for (const WorkflowEntry& w : ix.workflows) ix.sorted_workflows.push_back(&w);
    std::sort(ix.sorted_workflows.begin(), ix.sorted_workflows.end(),
              [](const WorkflowEntry* a, const WorkflowEntry* b) { return a->name < b->name; });
    for (const Conflict& c : ix.conflict_storage) ix.conflicts.push_back(&c);
    std::sort(ix.conflicts.begin(), ix.conflicts.end(), [](const Conflict* a, const Conflict* b) {
        return std::tie(a->name, a->kind) < std::tie(b->name, b->kind);
    });
    return index;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
