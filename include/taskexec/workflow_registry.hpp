// taskexec/workflow_registry.hpp — the registered workflows.
//
//     auto& workflows = taskexec::WorkflowRegistry::instance();
//     for (const auto& name : workflows.names()) ...                   // sorted
//     auto steps = workflows.tasks("sales");   // declared order
//
// A read-only view of the process-wide registry (the seed's
// workflow_registry.py). Thread-safe; never destroyed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <taskexec/detail/index.hpp>
#include <taskexec/detail/registry.hpp>

namespace taskexec {
inline namespace v2 {

/// The workflow registry.
class WorkflowRegistry {
public:
    /// The process-wide registry.
    static WorkflowRegistry& instance() noexcept {
        static WorkflowRegistry registry;
        return registry;
    }

    /// True if a workflow of that name is registered.
    bool contains(std::string_view workflow) const {
        return detail::Registry::instance().index().find_workflow(workflow) != nullptr;
    }

    /// Every workflow name, sorted bytewise.
    std::vector<std::string> names() const {
        const auto names = detail::Registry::instance().index().workflow_names();
        return {names.begin(), names.end()};
    }

    /// The workflow's tasks in declared order; empty if unknown.
    std::vector<std::string> tasks(std::string_view workflow) const {
        const detail::WorkflowEntry* w =
            detail::Registry::instance().index().find_workflow(workflow);
        if (w == nullptr) return {};
        const auto names = detail::Index::task_names(*w);
        return {names.begin(), names.end()};
    }

private:
    WorkflowRegistry() = default;
};

}  // namespace v2
}  // namespace taskexec
