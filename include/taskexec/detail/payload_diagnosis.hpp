// taskexec/detail/payload_diagnosis.hpp — naming the payload field at fault.
//
// The cold half of detail/payload.hpp, compiled only where requests are
// dispatched (see dispatch_support.hpp). nlohmann's own messages can quote
// values ("cannot use operator[] with a string argument with <value>"), and
// payloads carry credentials, so a failed conversion never passes its
// message on. Instead the payload is compared with the JSON shape of a
// default-constructed Payload (to_json of Payload{}): the first field that is
// present with an incompatible type, else the first required field that is
// missing, is reported as a JSON pointer. Only names from the Payload type
// appear — never the caller's keys or values.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <taskexec/context.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/detail/dispatch_support.hpp>
#include <taskexec/detail/payload.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v2 {
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

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_invalid_payload(const Context& ctx,
                                                                      const json& payload,
                                                                      ShapeFn shape_fn) {
    const json& shape = shape_fn();
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
        throw error(errc::invalid_payload, prefix + ": field '" + mistyped + "' has the wrong type",
                    where);
    }
    if (!missing.empty()) {
        where["field"] = missing;
        throw error(errc::invalid_payload, prefix + ": field '" + missing + "' is missing", where);
    }
    // The shape could not tell (a custom from_json rejected a value, or the
    // Payload is not default-constructible): name the whole document.
    where["field"] = "";
    throw error(errc::invalid_payload,
                prefix + ": the payload does not convert to the task's payload type", where);
}

/// `value` with every float that is not safe for every arithmetic type
/// replaced by 0.5. A float in [0, 128) converts to any integer type, char
/// and bool without undefined behaviour; 0.5 is one of them. Keeping the safe
/// ones keeps most custom from_json validators happy with the probe.
inline json with_safe_floats(const json& value) {
    if (value.is_number_float()) {
        const double number = value.get<double>();
        return (number >= 0.0 && number < 128.0) ? value : json(0.5);
    }
    json copy = value;
    if (copy.is_structured())
        for (json& element : copy) element = with_safe_floats(element);
    return copy;
}

/// The pointer of the first float in `value` whose counterpart in `typed`
/// (the same payload after a round trip through the Payload type) is an
/// integer, or "" if none. The round trip is what tells integer fields from
/// floating-point ones where the default Payload cannot: elements of an empty
/// vector, an optional that is empty by default, values of a map.
inline bool find_float_for_integer(const json& value, const json& typed, const std::string& at,
                                   std::string& found) {
    if (value.is_number_float()) {
        if (!typed.is_number_integer() && !typed.is_number_unsigned()) return false;
        found = at;
        return true;
    }
    if (value.is_object() && typed.is_object()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            const auto match = typed.find(it.key());
            if (match != typed.end() &&
                find_float_for_integer(it.value(), *match, at + "/" + pointer_token(it.key()),
                                       found))
                return true;
        }
    } else if (value.is_array() && typed.is_array()) {
        // A set, or a map with non-string keys, may come back shorter (equal
        // elements merge), so elements no longer line up: a float in there is
        // not proven safe.
        if (value.size() != typed.size()) {
            if (!contains_float(value)) return false;
            found = at;
            return true;
        }
        for (std::size_t i = 0; i < value.size(); ++i)
            if (find_float_for_integer(value[i], typed[i], at + "/" + std::to_string(i), found))
                return true;
    }
    return false;
}

/// Whether `value` nests deeper than `limit` levels (stops looking there).
inline bool deeper_than(const json& value, int limit) {
    if (!value.is_structured()) return false;
    if (limit <= 0) return true;
    for (const json& element : value)
        if (deeper_than(element, limit - 1)) return true;
    return false;
}

/// Whether `value` has a float that the default shape `expected` does not
/// show to be a floating-point field: under an integer, or where the shape
/// knows nothing (null, an empty array's elements, an empty object's values).
/// Keys the shape lacks are not read by a struct's from_json and are skipped.
/// The fallback of refuse_float_for_integer when the probe cannot convert.
inline bool has_unproven_float(const json& value, const json& expected) {
    if (value.is_number_float()) return !expected.is_number_float();
    if (expected.is_null()) return contains_float(value);
    if (expected.is_object() && value.is_object()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (expected.empty()) {
                if (contains_float(it.value())) return true;
                continue;
            }
            const auto found = expected.find(it.key());
            if (found != expected.end() && has_unproven_float(it.value(), *found)) return true;
        }
    } else if (expected.is_array() && value.is_array()) {
        for (const json& element : value)
            if (expected.empty() ? contains_float(element)
                                 : has_unproven_float(element, expected.front()))
                return true;
    }
    return false;
}

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_float_for_integer(const Context& ctx,
                                                                        const std::string& field) {
    json where = {{"workflow", ctx.workflow()},
                  {"task", ctx.task()},
                  {"engine", ctx.engine()},
                  {"field", field}};
    const std::string name = field.empty() ? std::string("the payload") : "field '" + field + "'";
    throw error(errc::invalid_payload,
                "invalid payload for task " + quote_name(ctx.task()) + ": " + name +
                    " is an integer and was given a floating-point number",
                where);
}

/// Refuses a float given for an integer field. nlohmann converts those with a
/// plain cast, which is undefined behaviour when the number is out of the
/// field's range (1e300 for an int, -1.0 for an unsigned), so taskexec
/// checks before converting: an integer field takes JSON integers (and
/// booleans), never 2.0. The check converts a probe — the payload with its
/// floats made harmless — to Payload and back (`probe`), and looks where a
/// float of the caller's became an integer (this trusts the Payload's to_json
/// to write the fields its from_json reads, under the same names). Only
/// payloads that contain a float, or nest deeper than max_payload_depth, get
/// here (see convert_payload); the latter are refused.
///
/// If the probe does not convert (the payload is wrong in another way, or a
/// validating from_json refuses the harmless values), only floats that the
/// default Payload shows to be floating-point fields are let through to the
/// real conversion; any other float makes the payload invalid, since its
/// conversion could not be proven safe.
TASKEXEC_INTERNAL_COLD inline void refuse_float_for_integer(const Context& ctx, const json& payload,
                                                            ProbeFn probe, ShapeFn shape) {
    if (deeper_than(payload, max_payload_depth)) {
        json where = {{"workflow", ctx.workflow()},
                      {"task", ctx.task()},
                      {"engine", ctx.engine()},
                      {"field", ""}};
        throw error(errc::invalid_payload,
                    "invalid payload for task " + quote_name(ctx.task()) +
                        ": the payload nests deeper than " + std::to_string(max_payload_depth) +
                        " levels",
                    std::move(where));
    }
    json typed;
    try {
        typed = probe(with_safe_floats(payload));
    } catch (...) {
        // Wrong in another way, or a validator refused the probe: fall back
        // to what the default shape proves.
        if (has_unproven_float(payload, shape())) throw_invalid_payload(ctx, payload, shape);
        return;
    }
    std::string field;
    if (find_float_for_integer(payload, typed, "", field)) throw_float_for_integer(ctx, field);
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
