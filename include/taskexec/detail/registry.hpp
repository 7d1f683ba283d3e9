// taskexec/detail/registry.hpp — the process-wide store of registrations.
//
// Registrars leave their records in this module's inbox (inbox.hpp), with no
// lock. Readers (dispatch, describe) take the published Index if there is
// one and the inbox is empty — two loads from one cache line, no lock, no
// shared write — and otherwise, under the mutex, move the inbox's records to
// the end of the list and build a new Index. A reader that looked just
// before a registration uses the old snapshot, as if it had dispatched a
// moment earlier. Superseded snapshots are retired, never freed: a reader on
// another thread may still hold one, and rebuilds happen only after
// registrations, which are rare.
//
// Lifetime: constant-initialised and never destroyed, so static initialisers
// and destructors in any translation unit may use it.
//
// Compile time: files that only register include inbox.hpp, not this. This
// header does not include index.hpp either: the snapshot is only named
// here, and the code that builds and reads it is instantiated in the files
// that dispatch (which include index.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <taskexec/detail/config.hpp>
#include <taskexec/detail/inbox.hpp>
#include <taskexec/detail/records.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

class Index;  // detail/index.hpp

class Registry {
public:
    /// The registry this module's registrations and lookups go to. A plugin
    /// built with hidden visibility has a private instance until the host
    /// that loads it hands over its own; from then on this forwards there.
    static Registry& instance() noexcept;

    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    /// The current snapshot. The reference stays valid forever. (A template
    /// only so that it is compiled where index.hpp is included; I is Index.)
    template <class I = Index>
    const I& index() {
        // The inbox first: if it is empty because a rebuild took its nodes,
        // that rebuild withdrew the old snapshot before taking them, so the
        // load below cannot return a snapshot older than this caller's own
        // registrations. While a plugin loads, what its initialisers left in
        // the inbox is not visible yet (see begin_staging): keep the snapshot.
        const bool settled = inbox_->empty() || staging_active_.load(std::memory_order_acquire);
        const I* current = current_.load(std::memory_order_acquire);
        if (TASKEXEC_INTERNAL_LIKELY(current != nullptr && settled)) return *current;
        return rebuild<I>();
    }

    /// Registrations dropped for lack of memory while moving them out of the
    /// inbox; for debugging (a registrar itself cannot fail).
    std::uint64_t lost_registrations() const noexcept {
        return lost_registrations_.load(std::memory_order_relaxed);
    }

    // ---- plugin hand-over (see plugin.hpp) -------------------------------

    /// Sends what this thread's registrars leave in the inbox from now until
    /// end_staging() to `sink` instead of the live list, so a plugin's
    /// registrations can be checked before any becomes visible. What was
    /// pending before, and what other threads register meanwhile, goes live.
    void begin_staging(std::vector<Record>* sink) {
        std::lock_guard lock(mutex_);
        absorb_inbox();
        staging_ = sink;
        staging_thread_ = pthread_self();
        staging_active_.store(true, std::memory_order_release);
    }
    void end_staging() {
        std::lock_guard lock(mutex_);
        if (staging_ != nullptr && !inbox_->empty()) {
            withdraw_snapshot();  // before emptying the inbox, as in absorb_inbox()
            append_pending(*staging_, records_, staging_thread_);
        }
        staging_ = nullptr;
        staging_active_.store(false, std::memory_order_release);
    }

    /// A copy of the live records, for checking a plugin against them.
    std::vector<Record> records() {
        std::lock_guard lock(mutex_);
        if (staging_ == nullptr) absorb_inbox();
        return records_;
    }
    /// Appends `batch` in one step, so it becomes visible all at once — unless
    /// the live list changed since `expected_size`, in which case nothing is
    /// added and false is returned (the caller re-checks and retries).
    bool commit(const std::vector<Record>& batch, std::size_t expected_size) {
        std::lock_guard lock(mutex_);
        if (staging_ == nullptr) absorb_inbox();
        if (records_.size() != expected_size) return false;
        records_.insert(records_.end(), batch.begin(), batch.end());
        withdraw_snapshot();
        return true;
    }
    /// Makes this (private) registry, and its module's inbox, forward to
    /// `host` from now on.
    void forward_to(Registry* host) noexcept {
        inbox_->forward_to(host->inbox_);
        forward_.store(host, std::memory_order_release);
    }
    /// A string that lives as long as the registry (plugin paths).
    const std::string* keep(std::string text) {
        std::lock_guard lock(mutex_);
        kept_strings_.push_back(std::make_unique<const std::string>(std::move(text)));
        return kept_strings_.back().get();
    }

private:
    friend union RegistryStorage;
    constexpr Registry() = default;
    ~Registry() = default;

    template <class I>
    const I& rebuild() {
        std::lock_guard lock(mutex_);
        if (staging_ == nullptr) absorb_inbox();
        const I* current = current_.load(std::memory_order_acquire);
        if (current != nullptr) return *current;  // another reader rebuilt it
        const std::uint64_t generation = generation_.load(std::memory_order_relaxed);
        std::unique_ptr<I> fresh = I::build(records_, generation);
        const I* published = fresh.get();
        retired_.push_back(std::move(fresh));
        current_.store(published, std::memory_order_release);
        return *published;
    }

    /// Takes the inbox's records, oldest first: those registered on
    /// `staged_thread` to `staged`, the others to `live`; without a staged
    /// thread, all to `live`. Under the mutex.
    void append_pending(std::vector<Record>& staged, std::vector<Record>& live,
                        std::optional<pthread_t> staged_thread) noexcept {
        PendingRecord* newest = inbox_->take_all();
        std::vector<const PendingRecord*> order;
        for (const PendingRecord* n = newest; n != nullptr; n = n->next) {
            try {
                order.push_back(n);
            } catch (...) {
                lost_registrations_.fetch_add(1, std::memory_order_relaxed);
            }
        }
        for (auto it = order.rbegin(); it != order.rend(); ++it) {
            const bool own = staged_thread && pthread_equal((*it)->thread, *staged_thread) != 0;
            try {
                (own ? staged : live).push_back((*it)->record);
            } catch (...) {
                lost_registrations_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }

    /// Moves what registrars left in the inbox to the live list. Under the
    /// mutex. The snapshot is withdrawn *before* the inbox is emptied (see
    /// index()).
    void absorb_inbox() noexcept {
        if (inbox_->empty()) return;
        withdraw_snapshot();
        append_pending(records_, records_, std::nullopt);
    }

    /// Called under the mutex after the records changed: the next reader
    /// rebuilds. The generation numbers the snapshots, for debugging.
    void withdraw_snapshot() noexcept {
        generation_.fetch_add(1, std::memory_order_relaxed);
        current_.store(nullptr, std::memory_order_release);
    }

    // The word every dispatch reads sits on its own cache line, away from
    // the mutex and vectors that registrations write.
    alignas(64) std::atomic<const Index*> current_{nullptr};
    Inbox* const inbox_ = &module_inbox;  ///< of the module this registry lives in
    std::atomic<bool> staging_active_{false};
    std::atomic<std::uint64_t> generation_{1};
    std::atomic<Registry*> forward_{nullptr};
    alignas(64) mutable std::mutex mutex_;
    std::vector<Record> records_;
    // Type-erased so that Index may stay incomplete here (see the top).
    std::vector<std::shared_ptr<const void>> retired_;
    std::vector<std::unique_ptr<const std::string>> kept_strings_;
    std::vector<Record>* staging_ = nullptr;
    pthread_t staging_thread_{};
    std::atomic<std::uint64_t> lost_registrations_{0};
};

/// This module's registry: constant-initialised (so it exists before any
/// registrar runs, and dispatch pays no first-use guard) and never destroyed
/// (static destructors run in no useful order, and a registrar or a late
/// dispatch on another thread may still reach it at exit).
union RegistryStorage {
    Registry registry;
    constexpr RegistryStorage() : registry() {}
    ~RegistryStorage() {}
};
constinit inline RegistryStorage registry_storage{};

inline Registry& Registry::instance() noexcept {
    Registry& local = registry_storage.registry;
    Registry* target = local.forward_.load(std::memory_order_acquire);
    return target != nullptr ? *target : local;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
