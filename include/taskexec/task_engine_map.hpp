// taskexec/task_engine_map.hpp — which engines implement which tasks.
//
//     auto& map = taskexec::TaskEngineMap::instance();
//     if (map.contains("quiesce_db", "postgres")) ...
//     for (const auto& engine : map.engines("quiesce_db")) ...   // sorted
//
// A read-only view of the process-wide registry (the seed's
// task_engine_map.py). Thread-safe; constructed on first use and never
// destroyed, so it is usable from static initialisers and destructors.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <taskexec/detail/index.hpp>
#include <taskexec/detail/registry.hpp>

namespace taskexec {
inline namespace v2 {

/// The task → engine map.
class TaskEngineMap {
public:
    /// The process-wide map.
    static TaskEngineMap& instance() noexcept {
        static TaskEngineMap map;  // stateless view: safe to construct at any time
        return map;
    }

    /// True if `engine` of `task` is registered; "*" asks for the fallback.
    bool contains(std::string_view task, std::string_view engine) const {
        return detail::Registry::instance().index().find_engine(task, engine) != nullptr;
    }

    /// Every task that is registered, implied by an engine or named by a
    /// workflow, sorted bytewise.
    std::vector<std::string> tasks() const {
        const auto names = detail::Registry::instance().index().task_names();
        return {names.begin(), names.end()};
    }

    /// The engine types of `task` ("*" included), sorted; empty if unknown.
    std::vector<std::string> engines(std::string_view task) const {
        const detail::TaskEntry* t = detail::Registry::instance().index().find_task(task);
        if (t == nullptr) return {};
        const auto names = detail::Index::engine_names(*t);
        return {names.begin(), names.end()};
    }

private:
    TaskEngineMap() = default;
};

}  // namespace v2
}  // namespace taskexec
