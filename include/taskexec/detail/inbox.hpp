// taskexec/detail/inbox.hpp — where registrars leave their records.
//
// A registrar (register.hpp) runs in a static initialiser, while the
// program or a plugin loads. It only pushes a node it owns onto this
// module's inbox: a lock-free stack, so a file that registers engines needs
// neither the registry's mutex nor its containers (<mutex>, <thread>, ...)
// and registering costs one compare-and-swap. The registry (registry.hpp)
// moves the records into its list the next time anyone looks something up.
//
// The atomics are the GCC/Clang builtins on a plain pointer, not
// std::atomic, to keep <atomic> out of registering files as well.
#pragma once

#include <pthread.h>

#include <taskexec/detail/records.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// One registration waiting in an inbox; a registrar owns it (static storage).
struct PendingRecord {
    Record record;
    pthread_t thread{};  ///< who registered: a plugin load stages only its own thread's
    PendingRecord* next = nullptr;
};

/// A module's stack of pending registrations.
class Inbox {
public:
    /// Pushes `node`; safe against concurrent pushes and take_all().
    void push(PendingRecord& node) noexcept {
        node.thread = pthread_self();
        PendingRecord* head = __atomic_load_n(&head_, __ATOMIC_RELAXED);
        do {
            node.next = head;
        } while (!__atomic_compare_exchange_n(&head_, &head, &node, /*weak=*/true, __ATOMIC_RELEASE,
                                              __ATOMIC_RELAXED));
    }
    /// Takes every pending node, newest first. Acquire: the nodes' contents;
    /// release: what the taker did before (withdrawing the snapshot) is seen
    /// by a reader that then finds the inbox empty.
    PendingRecord* take_all() noexcept {
        return __atomic_exchange_n(&head_, nullptr, __ATOMIC_ACQ_REL);
    }
    /// Whether nothing is pending; one load, for the dispatch fast path.
    bool empty() const noexcept { return __atomic_load_n(&head_, __ATOMIC_ACQUIRE) == nullptr; }

    /// The inbox this module's registrars push to: its own, or the host's
    /// once a plugin's private registry was handed over (see plugin_abi.hpp).
    Inbox& target() noexcept {
        Inbox* forward = __atomic_load_n(&forward_, __ATOMIC_ACQUIRE);
        return forward != nullptr ? *forward : *this;
    }
    void forward_to(Inbox* host) noexcept { __atomic_store_n(&forward_, host, __ATOMIC_RELEASE); }

private:
    PendingRecord* head_ = nullptr;
    Inbox* forward_ = nullptr;
};

/// This module's inbox: constant-initialised, so it exists before any
/// registrar runs; trivially destructible, so it outlives them all.
constinit inline Inbox module_inbox{};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
