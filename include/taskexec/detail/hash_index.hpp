// taskexec/detail/hash_index.hpp — a build-once, read-many name table.
//
// Dispatch looks names up on every call, from many threads. This table is
// filled once when a registry snapshot is built and never changes after, so
// readers need no lock; lookups hash the caller's string_views directly and
// never allocate. Open addressing with linear probing over a power-of-two
// array keeps a lookup to one or two cache lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace taskexec {
inline namespace v0 {
namespace detail {

/// FNV-1a; names are short (at most 64 bytes), so a simple byte loop wins
/// over block hashes that need a tail and a finaliser.
constexpr std::uint64_t hash_bytes(std::string_view s,
                                   std::uint64_t h = 0xcbf29ce484222325ULL) noexcept {
    for (char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

/// Hash of a (first, second) key; a single name uses an empty second part.
constexpr std::uint64_t hash_key(std::string_view first, std::string_view second) noexcept {
    // '/' cannot occur in a valid name, so it separates the parts.
    return hash_bytes(second, hash_bytes("/", hash_bytes(first)));
}

/// Maps a (first, second) pair of names to a `const Value*`.
template <class Value>
class HashIndex {
public:
    /// Sizes the table for `count` entries; call before insert().
    void reserve(std::size_t count) {
        std::size_t capacity = 8;
        while (capacity < count * 2) capacity *= 2;
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
    }

    /// Adds a key that is not present yet.
    void insert(std::string_view first, std::string_view second, const Value* value) {
        const std::uint64_t h = hash_key(first, second);
        std::size_t i = static_cast<std::size_t>(h) & mask_;
        while (slots_[i].value != nullptr) i = (i + 1) & mask_;
        slots_[i] = Slot{h, first, second, value};
    }

    /// The value for the key, or nullptr.
    const Value* find(std::string_view first, std::string_view second = {}) const noexcept {
        if (slots_.empty()) return nullptr;
        const std::uint64_t h = hash_key(first, second);
        for (std::size_t i = static_cast<std::size_t>(h) & mask_;; i = (i + 1) & mask_) {
            const Slot& slot = slots_[i];
            if (slot.value == nullptr) return nullptr;
            if (slot.hash == h && slot.first == first && slot.second == second) return slot.value;
        }
    }

private:
    struct Slot {
        std::uint64_t hash = 0;
        std::string_view first;
        std::string_view second;
        const Value* value = nullptr;
    };
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

}  // namespace detail
}  // namespace v0
}  // namespace taskexec
