// taskexec/detail/tags.hpp — empty bases that mark taskexec's class kinds.
//
// Counting how often a class derives from a tag is how the registrars tell
// "no Task<> base" from "two Task<> bases": with two, the conversion to the
// tag is ambiguous even though std::is_base_of still holds.
#pragma once

#include <type_traits>

namespace taskexec {
inline namespace v2 {
namespace detail {

struct task_tag {};
struct engine_tag {};
struct workflow_tag {};

template <class T, class Tag>
inline constexpr bool has_base_v = std::is_base_of_v<Tag, T>;

/// Exactly one public, unambiguous base of that kind.
template <class T, class Tag>
inline constexpr bool has_unique_base_v =
    std::is_base_of_v<Tag, T> && std::is_convertible_v<const volatile T*, const volatile Tag*>;

/// A task class: derives from exactly one Task<...>.
template <class T>
inline constexpr bool is_task_v = has_unique_base_v<T, task_tag>;

template <class... Ts>
struct type_list {};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
