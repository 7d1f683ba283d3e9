// taskexec/engine.hpp — Engine<>: the engine type an implementation serves.
//
//     struct PostgresQuiesceDb : QuiesceDb, taskexec::Engine<"postgres"> {
//         QuiesceResult execute(const QuiesceParams& p);          // or
//      // QuiesceResult execute(const QuiesceParams& p, taskexec::Context& ctx);
//     };
//     TASKEXEC_ENGINE(PostgresQuiesceDb);
//
// An engine class derives from exactly one task class and one Engine<Type>,
// is default-constructible, and defines one `execute`. A fresh object is
// constructed for every call, so engines need no locking of their own state.
#pragma once

#include <string_view>

#include <taskexec/detail/tags.hpp>
#include <taskexec/fixed_string.hpp>

namespace taskexec {
inline namespace v2 {

/// The engine type tag ("postgres", "sqlite", ... or "*" for the fallback).
template <fixed_string Type>
struct Engine : detail::engine_tag {
    static_assert(Type.view() == detail::fallback_engine || detail::is_valid_name(Type.view()),
                  "taskexec: an engine type must be \"*\" or 1 to 64 characters of "
                  "[A-Za-z0-9_.-]");

    static constexpr std::string_view engine_type = Type.view();
};

/// A task's fallback implementation: used for any engine type that has no
/// implementation of its own, and by `executor(w, t, "*", p)` directly.
using any_engine = Engine<"*">;

}  // namespace v2
}  // namespace taskexec
