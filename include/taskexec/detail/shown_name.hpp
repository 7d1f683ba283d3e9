// taskexec/detail/shown_name.hpp — a caller's name, safe to print and to dump.
//
//     shown_name("sal\xc3es")  ->  "sal\\xc3es"
//
// Requests come from outside (the network, a command line), so a name that
// is not registered can hold any bytes: control characters, quotes, invalid
// UTF-8. Messages and error JSON must stay one printable line, and
// json::dump() throws on invalid UTF-8. Valid names are printable ASCII
// (see fixed_string.hpp), so they pass unchanged; anything else is shown as
// \xNN. Long names are cut (at a byte boundary, which is a character
// boundary once everything non-ASCII is escaped).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// The escaped form of `name`, at most `max_shown` source bytes, then "...".
inline std::string shown_name(std::string_view name, std::size_t max_shown = 80) {
    std::string out;
    out.reserve(name.size() < max_shown ? name.size() : max_shown);
    for (std::size_t i = 0; i < name.size() && i < max_shown; ++i) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (name.size() > max_shown) out += "...";
    return out;
}

/// Whether shown_name(name) == name (the common case: a registered name).
inline bool shows_as_is(std::string_view name) noexcept {
    if (name.size() > 80) return false;
    for (char ch : name) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') return false;
    }
    return true;
}

/// Whether `text` is well-formed UTF-8 (what json::dump() insists on).
inline bool valid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        unsigned min = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            extra = 1;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3;
            min = 0x10000;
        } else {
            return false;  // a continuation byte, or not UTF-8 at all
        }
        if (i + extra >= text.size()) return false;  // cut short
        unsigned code = c & (0x3f >> extra);
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto d = static_cast<unsigned char>(text[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            code = (code << 6) | (d & 0x3f);
        }
        // Overlong forms, UTF-16 surrogates and values past U+10FFFF.
        if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return false;
        i += extra + 1;
    }
    return true;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
