// taskexec/detail/hash_index.hpp — a build-once, read-many name table.
//
// Dispatch looks names up on every call, from many threads. This table is
// filled once when a registry snapshot is built and never changes after, so
// readers need no lock; lookups hash the caller's string_views directly and
// never allocate. Open addressing with linear probing over a power-of-two
// array keeps a lookup to one or two cache lines.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace taskexec {
inline namespace v2 {
namespace detail {

inline std::uint64_t load_u64(const char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline std::uint64_t load_u32(const char* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

/// The bytes of `s` folded into at most two words, reading each byte with
/// overlapping loads instead of a byte loop (names are at most 64 bytes, and
/// most are 4 to 16). Used for hashing only; equality is checked separately.
inline std::uint64_t hash_bytes(std::string_view s, std::uint64_t h) noexcept {
    constexpr std::uint64_t k = 0x9E3779B97F4A7C15ULL;
    const char* p = s.data();
    const std::size_t n = s.size();
    h ^= n * k;
    if (n >= 8) {
        std::size_t i = 0;
        for (; i + 8 < n; i += 8) h = ((h ^ load_u64(p + i)) * k) ^ (h >> 31);
        h = (h ^ load_u64(p + n - 8)) * k;  // the last 8 bytes, overlapping
    } else if (n >= 4) {
        h = (h ^ ((load_u32(p) << 32) | load_u32(p + n - 4))) * k;
    } else if (n > 0) {
        const auto byte = [p](std::size_t i) {
            return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i]));
        };
        h = (h ^ ((byte(0) << 16) | (byte(n / 2) << 8) | byte(n - 1))) * k;
    }
    return h ^ (h >> 29);
}

/// Equality for short strings without a call to memcmp: sizes first, then
/// eight bytes at a time with an overlapping last load.
inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    const char* x = a.data();
    const char* y = b.data();
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8)
            if (load_u64(x + i) != load_u64(y + i)) return false;
        return load_u64(x + n - 8) == load_u64(y + n - 8);
    }
    if (n >= 4) return load_u32(x) == load_u32(y) && load_u32(x + n - 4) == load_u32(y + n - 4);
    for (std::size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return false;
    return true;
}

/// Hash of a key of up to three names (unused parts empty). Each part is
/// hashed on its own, from its own seed, and only then combined: the three
/// multiply chains are independent, so the CPU runs them side by side — on
/// the dispatch path that is a third of the latency of one chained hash. The
/// length of each part is mixed in, so ("ab", "c") and ("a", "bc") differ.
inline std::uint64_t hash_key(std::string_view first, std::string_view second,
                              std::string_view third) noexcept {
    const std::uint64_t a = hash_bytes(first, 0x243F6A8885A308D3ULL);
    const std::uint64_t b = hash_bytes(second, 0x13198A2E03707344ULL);
    const std::uint64_t c = hash_bytes(third, 0xA4093822299F31D0ULL);
    return (a ^ std::rotl(b, 21) ^ std::rotl(c, 42)) * 0xBF58476D1CE4E5B9ULL;
}

/// Maps a key of up to three names to a `const Value*`.
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
    void insert(std::string_view first, std::string_view second, std::string_view third,
                const Value* value) {
        const std::uint64_t h = hash_key(first, second, third);
        std::size_t i = static_cast<std::size_t>(h >> 32) & mask_;
        while (slots_[i].value != nullptr) i = (i + 1) & mask_;
        slots_[i] = Slot{h, first, second, third, value};
    }

    /// The value for the key, or nullptr.
    const Value* find(std::string_view first, std::string_view second = {},
                      std::string_view third = {}) const noexcept {
        if (slots_.empty()) return nullptr;
        const std::uint64_t h = hash_key(first, second, third);
        for (std::size_t i = static_cast<std::size_t>(h >> 32) & mask_;; i = (i + 1) & mask_) {
            const Slot& slot = slots_[i];
            if (slot.value == nullptr) return nullptr;
            if (slot.hash == h && same_bytes(slot.first, first) &&
                same_bytes(slot.second, second) && same_bytes(slot.third, third))
                return slot.value;
        }
    }

private:
    struct Slot {
        std::uint64_t hash = 0;
        std::string_view first;
        std::string_view second;
        std::string_view third;
        const Value* value = nullptr;
    };
    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
};

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
