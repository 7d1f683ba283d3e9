// taskexec/detail/config.hpp — compiler switches shared by every header.
#pragma once

#include <cstdlib>  // std::abort, for TASKEXEC_INTERNAL_UNREACHABLE elsewhere

#include <taskexec/version.hpp>

// Exceptions and the plugin hand-over must be visible across shared-object
// boundaries even when a plugin is built with -fvisibility=hidden: a host can
// only catch a plugin's taskexec::error if both agree on its type_info.
#if defined(__GNUC__) || defined(__clang__)
#define TASKEXEC_API __attribute__((visibility("default")))
#define TASKEXEC_INTERNAL_COLD __attribute__((cold, noinline))
#define TASKEXEC_INTERNAL_LIKELY(x) __builtin_expect(!!(x), 1)
#define TASKEXEC_INTERNAL_UNREACHABLE() __builtin_unreachable()
#else
#define TASKEXEC_API
#define TASKEXEC_INTERNAL_COLD
#define TASKEXEC_INTERNAL_LIKELY(x) (x)
#define TASKEXEC_INTERNAL_UNREACHABLE() std::abort()
#endif

#define TASKEXEC_INTERNAL_CONCAT_IMPL(a, b) a##b
#define TASKEXEC_INTERNAL_CONCAT(a, b) TASKEXEC_INTERNAL_CONCAT_IMPL(a, b)
