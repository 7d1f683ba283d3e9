// Small helpers shared by the unit tests.
#pragma once

#include <functional>
#include <string>

#include <taskexec/taskexec.hpp>

namespace test_support {

/// Runs `fn`, expecting a taskexec::error; returns it (or fails the test
/// through the thrown std::logic_error when nothing or something else flew).
inline taskexec::error catch_error(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const taskexec::error& e) {
        return e;
    }
    throw std::logic_error("expected a taskexec::error, but none was thrown");
}

inline bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

}  // namespace test_support
