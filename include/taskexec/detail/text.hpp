// taskexec/detail/text.hpp — the wording of error messages.
//
// Kept apart from the hot path: everything here runs only when a request
// fails, so it may allocate freely.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <taskexec/detail/shown_name.hpp>
#include <taskexec/fixed_string.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// Levenshtein distance, stopping early once it exceeds `limit`.
inline std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
    if (a.size() > b.size()) std::swap(a, b);
    if (b.size() - a.size() > limit) return limit + 1;
    std::vector<std::size_t> row(a.size() + 1);
    for (std::size_t i = 0; i <= a.size(); ++i) row[i] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
        std::size_t diagonal = row[0];
        row[0] = j;
        std::size_t best = row[0];
        for (std::size_t i = 1; i <= a.size(); ++i) {
            const std::size_t above = row[i];
            row[i] = std::min({row[i] + 1, row[i - 1] + 1,
                               diagonal + (a[i - 1] == b[j - 1] ? 0u : 1u)});
            diagonal = above;
            best = std::min(best, row[i]);
        }
        if (best > limit) return limit + 1;
    }
    return row[a.size()];
}

/// The candidate closest to `wanted` within edit distance 2; ties go to the
/// bytewise-smallest name so the suggestion is stable.
inline std::optional<std::string> closest_name(std::string_view wanted,
                                               const std::vector<std::string_view>& candidates) {
    constexpr std::size_t max_distance = 2;
    std::optional<std::string> best;
    std::size_t best_distance = max_distance + 1;
    for (std::string_view candidate : candidates) {
        if (candidate == fallback_engine) continue;
        const std::size_t d = edit_distance(wanted, candidate, max_distance);
        if (d < best_distance || (d == best_distance && best && candidate < *best)) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best;
}

/// A name the caller gave, fit for a message: quoted, escaped and capped
/// (see shown_name.hpp).
inline std::string quote_name(std::string_view name) {
    // Appended piecewise: `"'" + std::string&&` trips GCC 12's -Wrestrict
    // false positive at -O3 (a known libstdc++/GCC 12 bogus warning).
    std::string out = "'";
    out += shown_name(name);
    out += '\'';
    return out;
}

/// "a, b, c" or "(none)".
inline std::string name_list(const std::vector<std::string_view>& names) {
    if (names.empty()) return "(none)";
    std::string out;
    for (std::string_view n : names) {
        if (!out.empty()) out += ", ";
        out += n;
    }
    return out;
}

/// "; did you mean 'x'?" or nothing.
inline std::string did_you_mean(std::string_view wanted,
                                const std::vector<std::string_view>& candidates) {
    if (auto best = closest_name(wanted, candidates)) return "; did you mean '" + *best + "'?";
    return {};
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
