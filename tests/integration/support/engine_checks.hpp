// tests/integration/support/engine_checks.hpp — small helpers the server
// engine tests share: a sentinel password in an environment variable, the
// db_error behind a failed call, and merging results as a run does.
//
//     taskexec_it::Sentinel pw("TASKEXEC_IT_PG_PASSWORD");   // setenv; unsetenv at scope end
//     auto err = taskexec_it::db_error_of([&] { taskexec::executor(...); });
//     REQUIRE(err);
//     CHECK(err->kind() == taskexec_examples::db_error_kind::acquire_timeout);
//     CHECK_FALSE(pw.appears_in(report.to_json().dump()));
#pragma once

#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <utility>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"

namespace taskexec_it {

/// A password nobody could type by accident, put into this process's
/// environment under `variable` for password_env, and removed again on
/// destruction. Unique per process, so a concurrent test binary holding its
/// own sentinel can never make a /proc scan match.
class Sentinel {
public:
    explicit Sentinel(std::string variable) : variable_(std::move(variable)) {
        std::random_device rd;
        const char* hex = "0123456789abcdef";
        value_ = "sentinel-pw-";
        for (int i = 0; i < 24; ++i) value_ += hex[rd() % 16];
        ::setenv(variable_.c_str(), value_.c_str(), 1);
    }
    ~Sentinel() { ::unsetenv(variable_.c_str()); }
    Sentinel(const Sentinel&) = delete;
    Sentinel& operator=(const Sentinel&) = delete;

    const std::string& variable() const noexcept { return variable_; }
    const std::string& value() const noexcept { return value_; }
    bool appears_in(const std::string& text) const {
        return text.find(value_) != std::string::npos;
    }

private:
    std::string variable_;
    std::string value_;
};

/// The db_error a call threw (directly or nested in taskexec's task_failed);
/// nullopt if it threw nothing. Other exceptions propagate.
template <class Fn>
std::optional<taskexec_examples::db_error> db_error_of(Fn&& fn) {
    try {
        std::forward<Fn>(fn)();
    } catch (const std::exception& e) {
        if (auto found = taskexec_examples::find_db_error(e)) return found;
        throw;
    }
    return std::nullopt;
}

/// What a call threw, as text (what() plus a taskexec error's JSON); "" if
/// it threw nothing. For "never contains the password" checks.
template <class Fn>
std::string everything_thrown(Fn&& fn) {
    try {
        std::forward<Fn>(fn)();
    } catch (const taskexec::error& e) {
        return std::string(e.what()) + "\n" + e.to_json().dump();
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

/// `base` with the top-level keys of `extra` (as a workflow run merges results).
inline taskexec::json with(taskexec::json base, const taskexec::json& extra) {
    base.update(extra);
    return base;
}

}  // namespace taskexec_it
