// taskexec/detail/payload.hpp — typed payloads, and naming the field at fault.
//
// nlohmann's own messages can quote values ("cannot use operator[] with a
// string argument with <value>"), and payloads carry credentials, so a failed
// conversion never passes its message on. Instead the payload is compared
// with the JSON shape of a default-constructed Payload (to_json of Payload{}):
// the first field that is present with an incompatible type, else the first
// required field that is missing, is reported as a JSON pointer. Only names
// from the Payload type appear — never the caller's keys or values.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>
#include <taskexec/context.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v0 {
namespace detail {

/// Escapes a key for a JSON pointer (RFC 6901).
inline std::string pointer_token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

/// Whether nlohmann can read `value` where `expected` has its shape.
inline bool shape_compatible(const json& value, const json& expected) {
    switch (expected.type()) {
        case json::value_t::null: return true;  // optional or unknown: anything
        case json::value_t::boolean: return value.is_boolean();
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
            return value.is_number_integer() || value.is_number_unsigned() || value.is_boolean();
        case json::value_t::number_float: return value.is_number() || value.is_boolean();
        case json::value_t::string: return value.is_string();
        case json::value_t::array: return value.is_array();
        case json::value_t::object: return value.is_object();
        default: return true;
    }
}

/// The pointer of the first mistyped field under `value` (compared with
/// `expected`), or of the first missing one in `missing` if none is mistyped.
inline bool find_mistyped(const json& value, const json& expected, const std::string& at,
                          std::string& mistyped, std::string& missing) {
    for (const auto& [key, shape] : expected.items()) {
        const std::string here = at + "/" + pointer_token(key);
        const auto it = value.find(key);
        if (it == value.end()) {
            if (missing.empty()) missing = here;
            continue;
        }
        if (!shape_compatible(*it, shape)) {
            mistyped = here;
            return true;
        }
        if (shape.is_object() && find_mistyped(*it, shape, here, mistyped, missing)) return true;
        if (shape.is_array() && !shape.empty() && shape.front().is_object()) {
            std::size_t i = 0;
            for (const json& element : *it) {
                const std::string elem_at = here + "/" + std::to_string(i++);
                if (!element.is_object()) {
                    mistyped = elem_at;
                    return true;
                }
                if (find_mistyped(element, shape.front(), elem_at, mistyped, missing)) return true;
            }
        }
    }
    return false;
}

/// The JSON shape of a default-constructed T, or null if there is none.
template <class T>
const json& shape_of() {
    static const json shape = []() -> json {
        if constexpr (std::is_default_constructible_v<T>) {
            try {
                return json(T{});
            } catch (...) {
                return json();
            }
        } else {
            return json();
        }
    }();
    return shape;
}

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_invalid_payload(const Context& ctx,
                                                                      const json& payload,
                                                                      const json& shape) {
    json where = {{"workflow", ctx.workflow()}, {"task", ctx.task()}, {"engine", ctx.engine()}};
    const std::string prefix = "invalid payload for task " + quote_name(ctx.task());
    if (!payload.is_object()) {
        // A Payload that is not an object (Task<"x", int>) gets a neutral word.
        const bool wants_object = shape.is_object() || shape.is_null();
        throw error(errc::invalid_payload,
                    prefix + (wants_object ? ": the payload is not an object"
                                           : ": the payload has the wrong type"),
                    where);
    }
    std::string mistyped, missing;
    if (shape.is_object()) find_mistyped(payload, shape, "", mistyped, missing);
    if (!mistyped.empty()) {
        where["field"] = mistyped;
        throw error(errc::invalid_payload,
                    prefix + ": field '" + mistyped + "' has the wrong type", where);
    }
    if (!missing.empty()) {
        where["field"] = missing;
        throw error(errc::invalid_payload, prefix + ": field '" + missing + "' is missing",
                    where);
    }
    // The shape could not tell (a custom from_json rejected a value, or the
    // Payload is not default-constructible): name the whole document.
    where["field"] = "";
    throw error(errc::invalid_payload,
                prefix + ": the payload does not convert to the task's payload type", where);
}

/// Converts a request's payload to the task's Payload type.
/// Whether `value` has a floating-point number where `expected` (the shape
/// of the Payload) has an integer. nlohmann converts those with a plain cast,
/// which is undefined behaviour when the number is out of the field's range
/// (1e300 for an int), so taskexec refuses them before converting: an
/// integer field takes JSON integers (and booleans), never 2.0. Arrays are
/// checked only where the default Payload has an element to compare with.
inline bool has_float_for_integer(const json& value, const json& expected) {
    if (expected.is_number_integer() || expected.is_number_unsigned())
        return value.is_number_float();
    if (expected.is_object() && value.is_object()) {
        for (auto it = expected.begin(); it != expected.end(); ++it) {
            const auto found = value.find(it.key());
            if (found != value.end() && has_float_for_integer(*found, it.value())) return true;
        }
    } else if (expected.is_array() && value.is_array() && !expected.empty()) {
        for (const json& element : value)
            if (has_float_for_integer(element, expected.front())) return true;
    }
    return false;
}

template <class Payload>
Payload convert_payload(const json& payload, const Context& ctx) {
    const json& shape = shape_of<Payload>();
    if (has_float_for_integer(payload, shape)) throw_invalid_payload(ctx, payload, shape);
    try {
        return payload.get<Payload>();
    } catch (...) {
        throw_invalid_payload(ctx, payload, shape);
    }
}

}  // namespace detail
}  // namespace v0
}  // namespace taskexec
