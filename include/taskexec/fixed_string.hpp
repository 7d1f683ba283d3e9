// taskexec/fixed_string.hpp — string literals as template arguments.
//
//     struct QuiesceDb : taskexec::Task<"quiesce_db"> {};
//
// The name lives in the template argument object, which has static storage
// duration, so a std::string_view taken from it never dangles; registries
// keep such views instead of copying names.
#pragma once

#include <cstddef>
#include <string_view>

#include <taskexec/detail/config.hpp>

namespace taskexec {
inline namespace v2 {

/// A string literal usable as a class-type template argument (C++20).
template <std::size_t N>
struct fixed_string {
    char value[N]{};  // including the terminating NUL

    constexpr fixed_string(const char (&text)[N]) noexcept {  // NOLINT: implicit by design
        for (std::size_t i = 0; i < N; ++i) value[i] = text[i];
    }
    constexpr std::string_view view() const noexcept { return {value, N - 1}; }
    constexpr operator std::string_view() const noexcept { return view(); }  // NOLINT
    constexpr std::size_t size() const noexcept { return N - 1; }
};

namespace detail {

/// Longest valid task, engine or workflow name.
inline constexpr std::size_t max_name_length = 64;

/// The reserved engine type of a task's fallback implementation.
inline constexpr std::string_view fallback_engine = "*";

constexpr bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

/// True for 1 to 64 characters of [A-Za-z0-9_.-]. Used by the static_asserts
/// of Task/Engine/Workflow and, at run time, to keep invalid names out of
/// suggestions.
constexpr bool is_valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_name_length) return false;
    for (char c : name)
        if (!is_name_char(c)) return false;
    return true;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
