// taskexec/register.hpp — the registration macros.
//
//     TASKEXEC_TASK(QuiesceDb);              // optional: listed before any engine
//     TASKEXEC_ENGINE(PostgresQuiesceDb);    // (quiesce_db, postgres)
//     TASKEXEC_WORKFLOW(SalesWorkflow);      // "sales"
//
// Each macro is a declaration followed by `;` at namespace scope. It defines
// an internal-linkage object whose constructor registers the class while the
// program (or plugin) loads: it leaves a record in this module's inbox
// (detail/inbox.hpp), which the registry reads when first asked. In a header
// included by many translation units the class is registered once: repeats
// of the same class are no-ops.
//
// This header is all a file that defines engines needs; it does not define
// Context (include <taskexec/context.hpp> to use one) nor dispatch.
//
// Registrars never throw and never terminate: a conflict (two classes, one
// name) is recorded with both sites and reported by describe(), verify() and
// any dispatch that touches the name.
#pragma once

#include <typeinfo>

#include <taskexec/detail/config.hpp>
#include <taskexec/detail/engine_traits.hpp>
#include <taskexec/detail/inbox.hpp>
#include <taskexec/detail/invoke.hpp>
#include <taskexec/detail/records.hpp>
#include <taskexec/engine.hpp>
#include <taskexec/task.hpp>
#include <taskexec/workflow.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

template <class T>
void register_task(Site site, PendingRecord& node) noexcept {
    if constexpr (check_task<T>()) {
        Record& r = node.record;
        r.kind = record_kind::task;
        r.site = site;
        r.task = &task_info<T>();
        module_inbox.target().push(node);
    }
}

template <class E>
void register_engine(Site site, PendingRecord& node) noexcept {
    if constexpr (check_engine<E>()) {
        Record& r = node.record;
        r.kind = record_kind::engine;
        r.site = site;
        r.task = &task_info<E>();
        r.engine_type = E::engine_type;
        r.engine_identity = &typeid(E);
        r.invoke = &invoke_engine<E>;
        module_inbox.target().push(node);
    }
}

template <class W>
void register_workflow(Site site, PendingRecord& node) noexcept {
    if constexpr (check_workflow<W>()) {
        Record& r = node.record;
        r.kind = record_kind::workflow;
        r.site = site;
        r.workflow_name = W::workflow_name;
        r.workflow_identity = &typeid(W);
        r.workflow_tasks = task_infos(typename W::task_list{});
        module_inbox.target().push(node);
    }
}

/// The object a registration macro defines: it owns the inbox node of its
/// registration, which the registry copies out the next time it is read.
class Registrar {
public:
    Registrar(void (*register_fn)(Site, PendingRecord&) noexcept, Site site) noexcept {
        register_fn(site, node_);
    }
    Registrar(const Registrar&) = delete;
    Registrar& operator=(const Registrar&) = delete;

private:
    PendingRecord node_;
};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec

// __COUNTER__ makes each registrar's name unique, so two registrations on one
// line work; `static` gives it internal linkage, so a macro in a header makes
// one registrar per translation unit (the registry folds the repeats).
#define TASKEXEC_INTERNAL_REGISTER(function, ...)                                   \
    [[maybe_unused]] static ::taskexec::detail::Registrar TASKEXEC_INTERNAL_CONCAT( \
        taskexec_internal_registrar_, __COUNTER__) {                                \
        &::taskexec::detail::function<__VA_ARGS__>, ::taskexec::detail::Site {      \
            __FILE__, __LINE__                                                      \
        }                                                                           \
    }

/// Registers a task class, so it is listed even before any engine exists.
#define TASKEXEC_TASK(...) TASKEXEC_INTERNAL_REGISTER(register_task, __VA_ARGS__)
/// Registers an engine class under (its task's name, its engine type).
#define TASKEXEC_ENGINE(...) TASKEXEC_INTERNAL_REGISTER(register_engine, __VA_ARGS__)
/// Registers a workflow class under its name.
#define TASKEXEC_WORKFLOW(...) TASKEXEC_INTERNAL_REGISTER(register_workflow, __VA_ARGS__)
