// taskexec/detail/payload.hpp — converting a request's payload to the
// task's Payload type, in the engine's own invoke function.
//
// Only the conversion lives here. Finding the field at fault when it fails,
// and refusing floats given for integer fields, are done by the dispatching
// code's DispatchSupport (detail/payload_diagnosis.hpp), so a file that
// registers engines does not compile them again.
#pragma once

#include <type_traits>

#include <nlohmann/json.hpp>
#include <taskexec/detail/config.hpp>
#include <taskexec/detail/dispatch_support.hpp>
#include <taskexec/fwd.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

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

/// How deeply a typed payload may nest. Deeper ones are invalid_payload:
/// the checks here and in payload_diagnosis.hpp recurse, and a hostile
/// payload of a megabyte of "[[[[" must not exhaust the stack.
inline constexpr int max_payload_depth = 64;

/// Whether `value` holds a floating-point number anywhere — or nests deeper
/// than max_payload_depth, which the cold path then refuses. Most payloads
/// hold no float, and for them the checks cost this one walk.
inline bool contains_float(const json& value, int depth = 0) {
    if (value.is_number_float() || depth >= max_payload_depth) return true;
    if (value.is_structured())
        for (const json& element : value)
            if (contains_float(element, depth + 1)) return true;
    return false;
}

/// Thrown by probe_payload for a Payload with no to_json.
struct no_round_trip {};

/// The ProbeFn of Payload: JSON to Payload and back.
template <class Payload>
json probe_payload(const json& value) {
    if constexpr (requires(const Payload& typed) { json(typed); })
        return json(value.template get<Payload>());
    else
        throw no_round_trip{};
}

/// Converts a request's payload to the task's Payload type; invalid_payload
/// (naming the field at fault) if it does not convert.
template <class Payload>
Payload convert_payload(const json& payload, const Context& ctx, const DispatchSupport& support) {
    if (contains_float(payload))
        support.refuse_float_for_integer(ctx, payload, &probe_payload<Payload>, &shape_of<Payload>);
    try {
        return payload.get<Payload>();
    } catch (...) {
        support.invalid_payload(ctx, payload, &shape_of<Payload>);
        TASKEXEC_INTERNAL_UNREACHABLE();
    }
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
