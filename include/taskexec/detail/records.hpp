// taskexec/detail/records.hpp — what a registration macro hands the registry.
//
// Records are plain data pointing at static storage (names live in template
// argument objects, sites in __FILE__ literals, task descriptions in static
// constexpr members), so registering costs one vector append and no string
// copies. That keeps 10,000 registrations at load time cheap.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include <taskexec/detail/dispatch_support.hpp>
#include <taskexec/detail/tags.hpp>
#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// Where a registration macro was written: __FILE__ and __LINE__ as the
/// compiler saw them (no std::source_location: clang 14 + libstdc++ 12).
struct Site {
    const char* file = "";
    int line = 0;

    std::string to_string() const { return std::string(file) + ":" + std::to_string(line); }
};

/// The type-erased call of one engine class: converts the payload, runs a
/// fresh engine, converts the result. Throws taskexec::error only.
using InvokeFn = json (*)(const json& payload, Context& ctx, const DispatchSupport& support);

/// What taskexec knows of a task class, built once per class.
struct TaskInfo {
    std::string_view name;
    const std::type_info* identity;  ///< typeid of the Task<...> specialisation
    std::string_view description;
    const TaskInfo* (*compensation)();  ///< null if the task has none; lazy so
                                        ///< that two tasks may undo each other
};

/// Two registrations name the same class. type_info's operator== compares
/// mangled names where needed, so this holds across a plugin boundary too.
inline bool same_type(const std::type_info* a, const std::type_info* b) noexcept {
    return a == b || *a == *b;
}

enum class record_kind : std::uint8_t { task, engine, workflow };

/// One registration, in the order the static initialisers ran.
struct Record {
    record_kind kind = record_kind::task;
    Site site;
    const std::string* origin = nullptr;  ///< plugin path; null: the executable
    const TaskInfo* task = nullptr;       ///< task and engine records

    // engine records
    std::string_view engine_type;
    const std::type_info* engine_identity = nullptr;
    InvokeFn invoke = nullptr;

    // workflow records
    std::string_view workflow_name;
    const std::type_info* workflow_identity = nullptr;
    std::span<const TaskInfo* const> workflow_tasks;
};

template <class T>
const TaskInfo* task_info_ptr() noexcept;

template <class T>
constexpr std::string_view description_of() noexcept {
    if constexpr (requires { std::string_view{T::description}; })
        return std::string_view{T::description};
    else
        return {};
}

template <class T>
constexpr auto compensation_of() noexcept -> const TaskInfo* (*)() {
    if constexpr (requires { typename T::compensation; }) {
        static_assert(is_task_v<typename T::compensation>,
                      "taskexec: a task's compensation must be a task class (deriving "
                      "from exactly one taskexec::Task<...>)");
        return &task_info_ptr<typename T::compensation>;
    } else {
        return nullptr;
    }
}

/// The TaskInfo of task class T; one per class and loaded module.
template <class T>
const TaskInfo& task_info() noexcept {
    static const TaskInfo info{T::task_name, &typeid(typename T::task_identity),
                               description_of<T>(), compensation_of<T>()};
    return info;
}

template <class T>
const TaskInfo* task_info_ptr() noexcept {
    return &task_info<T>();
}

/// The TaskInfos of a workflow's task list, in declared order.
template <class... Ts>
std::span<const TaskInfo* const> task_infos(type_list<Ts...>) noexcept {
    static const TaskInfo* const infos[] = {&task_info<Ts>()...};
    return infos;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
