// taskexec/detail/registry.hpp — the process-wide store of registrations.
//
// Writers (registration macros, plugin loads) append records under a mutex
// and withdraw the published Index. Readers (dispatch, describe) take the
// published Index if there is one — one atomic load, no lock, no shared
// write — and otherwise rebuild it under the mutex. Both happen under the
// mutex, so a snapshot is never published over a newer registration; a
// reader that loaded the old pointer just before a registration uses the
// old snapshot, as if it had dispatched a moment earlier. Superseded
// snapshots are retired, never freed: a reader on another thread may still
// hold one, and rebuilds happen only after registrations, which are rare.
//
// Lifetime: constructed on first use and never destroyed, so static
// initialisers and destructors in any translation unit may use it.
//
// Compile time: this header is in every file that registers something, so
// it does not include index.hpp. The snapshot is only named here; the code
// that builds and reads it is instantiated in the files that dispatch (which
// include index.hpp), not in the thousands that only register.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <taskexec/detail/config.hpp>
#include <taskexec/detail/records.hpp>

namespace taskexec {
inline namespace v0 {
namespace detail {

class Index;  // detail/index.hpp

class Registry {
public:
    /// The registry this module's registrations and lookups go to. A plugin
    /// built with hidden visibility has a private instance until the host
    /// that loads it hands over its own; from then on this forwards there.
    static Registry& instance() noexcept {
        static Registry* const local = new Registry();  // never destroyed, by design
        Registry* target = local->forward_.load(std::memory_order_acquire);
        return target != nullptr ? *target : *local;
    }

    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    /// Appends a registration. Never throws: a registrar runs during static
    /// initialisation, where an exception would terminate the program. If
    /// memory runs out the registration is lost and counted.
    void add(const Record& record) noexcept {
        try {
            std::lock_guard lock(mutex_);
            if (staging_ != nullptr && staging_thread_ == std::this_thread::get_id()) {
                staging_->push_back(record);
                return;
            }
            records_.push_back(record);
            withdraw_snapshot();
        } catch (...) {
            lost_registrations_.fetch_add(1, std::memory_order_relaxed);
        }
    }

    /// The current snapshot. The reference stays valid forever. (A template
    /// only so that it is compiled where index.hpp is included; I is Index.)
    template <class I = Index>
    const I& index() {
        const I* current = current_.load(std::memory_order_acquire);
        if (TASKEXEC_INTERNAL_LIKELY(current != nullptr)) return *current;
        return rebuild<I>();
    }

    /// Registrations dropped for lack of memory (reported by describe()).
    std::uint64_t lost_registrations() const noexcept {
        return lost_registrations_.load(std::memory_order_relaxed);
    }

    // ---- plugin hand-over (see plugin.hpp) -------------------------------

    /// Sends this thread's registrations to `sink` instead of the live list,
    /// so a plugin's registrations can be checked before any becomes visible.
    void begin_staging(std::vector<Record>* sink) {
        std::lock_guard lock(mutex_);
        staging_ = sink;
        staging_thread_ = std::this_thread::get_id();
    }
    void end_staging() {
        std::lock_guard lock(mutex_);
        staging_ = nullptr;
    }
    /// A copy of the live records, for checking a plugin against them.
    std::vector<Record> records() const {
        std::lock_guard lock(mutex_);
        return records_;
    }
    /// Appends `batch` in one step, so it becomes visible all at once — unless
    /// the live list changed since `expected_size`, in which case nothing is
    /// added and false is returned (the caller re-checks and retries).
    bool commit(const std::vector<Record>& batch, std::size_t expected_size) {
        std::lock_guard lock(mutex_);
        if (records_.size() != expected_size) return false;
        records_.insert(records_.end(), batch.begin(), batch.end());
        withdraw_snapshot();
        return true;
    }
    /// Makes this (private) registry forward to `host` from now on.
    void forward_to(Registry* host) noexcept { forward_.store(host, std::memory_order_release); }
    /// A string that lives as long as the registry (plugin paths).
    const std::string* keep(std::string text) {
        std::lock_guard lock(mutex_);
        kept_strings_.push_back(std::make_unique<const std::string>(std::move(text)));
        return kept_strings_.back().get();
    }

private:
    Registry() = default;
    ~Registry() = default;

    template <class I>
    const I& rebuild() {
        std::lock_guard lock(mutex_);
        const I* current = current_.load(std::memory_order_acquire);
        if (current != nullptr) return *current;  // another reader rebuilt it
        const std::uint64_t generation = generation_.load(std::memory_order_relaxed);
        std::unique_ptr<I> fresh = I::build(records_, generation);
        const I* published = fresh.get();
        retired_.push_back(std::move(fresh));
        current_.store(published, std::memory_order_release);
        return *published;
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
    std::atomic<std::uint64_t> generation_{1};
    std::atomic<Registry*> forward_{nullptr};
    alignas(64) mutable std::mutex mutex_;
    std::vector<Record> records_;
    // Type-erased so that Index may stay incomplete here (see the top).
    std::vector<std::shared_ptr<const void>> retired_;
    std::vector<std::unique_ptr<const std::string>> kept_strings_;
    std::vector<Record>* staging_ = nullptr;
    std::thread::id staging_thread_;
    std::atomic<std::uint64_t> lost_registrations_{0};
};

}  // namespace detail
}  // namespace v0
}  // namespace taskexec
