// taskexec/detail/lease_types.hpp — the vocabulary of leases: how a lease
// ended, what release_lease() found, and lease ids.
//
//     std::string id = detail::to_hex(detail::random_key(device));  // 32 hex chars
//     detail::LeaseKey key;
//     if (!detail::parse_hex(id, key)) ... // never issued: release_result::unknown
//
// The two enums are public API (re-exported by <taskexec/lease.hpp>); they
// live here so that the lease table, which stores them, can name them
// without a cycle between the public header and its implementation.
//
// Ids are the only secret-like thing a lease has: whoever holds one can end
// someone else's quiesce. So they are 128 bits straight from
// std::random_device, never a counter or a seeded PRNG, and are kept as two
// integers so that lookups compare 16 bytes instead of 32 characters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>

namespace taskexec {
inline namespace v2 {

/// Who released a lease; passed to its release callback.
enum class release_reason {
    explicit_release,  ///< release_lease() was called
    watchdog,          ///< max_hold passed
    process_exit,      ///< the process exited normally (exit, return from main)
};

/// What release_lease() found.
enum class release_result {
    explicit_release,  ///< this call released it
    watchdog,          ///< the watchdog had released it
    already_released,  ///< an earlier release_lease() (or process exit) had
    unknown,           ///< no lease with this id was ever issued
};

/// The enumerator's name, e.g. "watchdog".
constexpr std::string_view to_string(release_reason reason) noexcept {
    switch (reason) {
        case release_reason::explicit_release: return "explicit_release";
        case release_reason::watchdog: return "watchdog";
        case release_reason::process_exit: return "process_exit";
    }
    return "unknown";
}

/// The enumerator's name, e.g. "already_released".
constexpr std::string_view to_string(release_result result) noexcept {
    switch (result) {
        case release_result::explicit_release: return "explicit_release";
        case release_result::watchdog: return "watchdog";
        case release_result::already_released: return "already_released";
        case release_result::unknown: return "unknown";
    }
    return "unknown";
}

namespace detail {

/// A lease id as two 64-bit halves (the hex text, high half first).
struct LeaseKey {
    std::uint64_t high = 0;
    std::uint64_t low = 0;

    friend bool operator==(const LeaseKey&, const LeaseKey&) = default;
    /// Any strict order will do: it only breaks ties between equal deadlines.
    friend bool operator<(const LeaseKey& a, const LeaseKey& b) noexcept {
        return a.high != b.high ? a.high < b.high : a.low < b.low;
    }
};

/// The bits are uniformly random already; folding them is hash enough.
struct LeaseKeyHash {
    std::size_t operator()(const LeaseKey& k) const noexcept {
        return static_cast<std::size_t>(k.high ^ (k.low * 0x9e3779b97f4a7c15ull));
    }
};

/// 128 fresh bits from `device`, 32 per draw: result_type is at least that
/// wide, and the standard promises its values are uniform over its range.
inline LeaseKey random_key(std::random_device& device) {
    static_assert(std::numeric_limits<std::random_device::result_type>::digits >= 32,
                  "taskexec: std::random_device must yield at least 32 bits per call");
    const auto draw = [&device]() -> std::uint64_t {
        const std::uint64_t hi = device() & 0xffffffffull;
        const std::uint64_t lo = device() & 0xffffffffull;
        return (hi << 32) | lo;
    };
    LeaseKey key;
    key.high = draw();
    key.low = draw();
    return key;
}

/// The 32 lowercase hex characters of `key`.
inline std::string to_hex(const LeaseKey& key) {
    constexpr char digits[] = "0123456789abcdef";
    std::string out(32, '0');
    for (int i = 0; i < 16; ++i) {
        out[static_cast<std::size_t>(15 - i)] = digits[(key.high >> (4 * i)) & 0xf];
        out[static_cast<std::size_t>(31 - i)] = digits[(key.low >> (4 * i)) & 0xf];
    }
    return out;
}

/// Reads an id as to_hex() writes it; anything else (length, case, other
/// characters) was never issued, so it fails.
inline bool parse_hex(std::string_view text, LeaseKey& key) noexcept {
    if (text.size() != 32) return false;
    std::uint64_t halves[2] = {0, 0};
    for (std::size_t i = 0; i < 32; ++i) {
        const char c = text[i];
        std::uint64_t v = 0;
        if (c >= '0' && c <= '9')
            v = static_cast<std::uint64_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = static_cast<std::uint64_t>(c - 'a') + 10;
        else
            return false;
        halves[i / 16] = (halves[i / 16] << 4) | v;
    }
    key.high = halves[0];
    key.low = halves[1];
    return true;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
