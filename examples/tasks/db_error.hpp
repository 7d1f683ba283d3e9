// examples/tasks/db_error.hpp — the exception every database engine throws.
//
//     throw db_error(db_error_kind::acquire_timeout, {"sqlite", "quiesce_db", "begin"},
//                    native_sqlite(rc), sqlite3_errstr(rc), /*may_be_frozen=*/false);
//
// taskexec wraps whatever an engine throws as `task_failed`, keeps what() in
// its message and the original as a nested exception. So what() is the one
// line a user sees: engine, task, step, kind, native code, a redacted message
// and whether the database may still be frozen. It never holds a payload
// value (paths, labels, user names, passwords): engines build the message
// from fixed text and server error *codes*, and a server's message text only
// after checking that it cannot echo the statement or its parameters.
// `find_db_error()` recovers the structured fields from a taskexec::error.
#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <taskexec/taskexec.hpp>

namespace taskexec_examples {

/// What kind of database failure; the list of EXAMPLES.md plus `cancelled`
/// (a stop request or deadline interrupted a wait).
enum class db_error_kind {
    config,            ///< a payload field is missing or out of range
    connect,           ///< the database could not be reached or opened
    permission,        ///< the database refused: privileges, read-only file
    precondition,      ///< the database is not in a state we can work with
    acquire_timeout,   ///< the lock was not granted within acquire_timeout_ms
    already_quiesced,  ///< someone (maybe us) already holds it quiesced
    not_quiesced,      ///< unquiesce of a lease this engine never issued
    hold_expired,      ///< the watchdog released the lease first: the snapshot is invalid
    session_lost,      ///< the holder session ended on its own (killed, dropped)
    release_failed,    ///< the release statement failed
    cancelled,         ///< stopped by the run (cancel or deadline) while waiting
};

/// The kind's name as used in messages and JSON, e.g. "acquire_timeout".
constexpr std::string_view to_string(db_error_kind kind) noexcept {
    switch (kind) {
        case db_error_kind::config: return "config";
        case db_error_kind::connect: return "connect";
        case db_error_kind::permission: return "permission";
        case db_error_kind::precondition: return "precondition";
        case db_error_kind::acquire_timeout: return "acquire_timeout";
        case db_error_kind::already_quiesced: return "already_quiesced";
        case db_error_kind::not_quiesced: return "not_quiesced";
        case db_error_kind::hold_expired: return "hold_expired";
        case db_error_kind::session_lost: return "session_lost";
        case db_error_kind::release_failed: return "release_failed";
        case db_error_kind::cancelled: return "cancelled";
    }
    return "unknown";
}

/// Where a failure happened: engine type, task, and the engine's own step
/// name ("open", "checkpoint", "begin", "release", ...).
struct db_where {
    std::string engine;
    std::string task;
    std::string step;
};

/// A database engine's failure. Cheap to copy; what() is one line.
class db_error : public std::runtime_error {
public:
    /// `native_code`: SQLSTATE, MariaDB errno, "SQLITE_BUSY (5)", Mongo code,
    /// or empty. `message`: already redacted (no payload values); newlines are
    /// flattened so what() stays one line.
    db_error(db_error_kind kind, db_where where, std::string native_code, std::string_view message,
             bool may_be_frozen)
        : std::runtime_error(format(kind, where, native_code, message, may_be_frozen)),
          kind_(kind),
          where_(std::move(where)),
          native_code_(std::move(native_code)),
          message_(one_line(message)),
          may_be_frozen_(may_be_frozen) {}

    db_error_kind kind() const noexcept { return kind_; }
    const db_where& where() const noexcept { return where_; }
    const std::string& native_code() const noexcept { return native_code_; }
    /// The redacted message without the prefix what() adds.
    const std::string& message() const noexcept { return message_; }
    /// True when the database may still be held quiesced after this failure
    /// (a release that failed on a session we could not close).
    bool may_be_frozen() const noexcept { return may_be_frozen_; }

    /// {"kind","engine","task","step","native_code","message","may_be_frozen"}
    taskexec::json to_json() const {
        return {{"kind", std::string(to_string(kind_))},
                {"engine", where_.engine},
                {"task", where_.task},
                {"step", where_.step},
                {"native_code", native_code_},
                {"message", message_},
                {"may_be_frozen", may_be_frozen_}};
    }

private:
    static std::string one_line(std::string_view text) {
        std::string out(text);
        for (char& c : out)
            if (c == '\n' || c == '\r' || c == '\t') c = ' ';
        while (!out.empty() && out.back() == ' ') out.pop_back();
        return out;
    }

    static std::string format(db_error_kind kind, const db_where& w, const std::string& native,
                              std::string_view message, bool frozen) {
        std::string out = w.engine + " " + w.task + " failed at step '" + w.step +
                          "': " + std::string(to_string(kind));
        if (!native.empty()) out += " [" + native + "]";
        if (!message.empty()) out += ": " + one_line(message);
        out += frozen ? " (the database MAY STILL BE FROZEN)" : " (the database is not frozen)";
        return out;
    }

    db_error_kind kind_;
    db_where where_;
    std::string native_code_;
    std::string message_;
    bool may_be_frozen_;
};

/// The db_error an exception carries: itself, or one nested inside it (as in
/// the task_failed error taskexec throws for an engine's db_error), or none.
inline std::optional<db_error> find_db_error(const std::exception& e) {
    if (const auto* direct = dynamic_cast<const db_error*>(&e)) return *direct;
    try {
        std::rethrow_if_nested(e);
    } catch (const db_error& nested) {
        return nested;
    } catch (const std::exception& other) {
        return find_db_error(other);
    } catch (...) {}
    return std::nullopt;
}

}  // namespace taskexec_examples
