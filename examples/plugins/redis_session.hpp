// examples/plugins/redis_session.hpp — the hiredis connection that holds a
// Redis server's writes paused between quiesce_db and unquiesce_db.
//
//     auto s = redis::Session::connect(params, where, budget_ms);  // connect, AUTH, SETNAME
//     redis::Info server = s->info("server", where);               // run_id, redis_version
//     s->pause(pause_ms, where);                 // CLIENT PAUSE <ms> WRITE; the destructor
//                                                // (a failed quiesce) lifts it again
//     std::string id = redis::leases().hold(std::move(s), max_hold);
//     ...
//     redis::leases().unquiesce(id, [](redis::Session& s) { return s.release(); });
//
// Unlike a SQL lock, a Redis pause belongs to the SERVER, not to the
// connection that asked for it: closing or killing the holder connection does
// not lift it, and any client's CLIENT UNPAUSE lifts every pause. So the
// session keeps what it needs to reconnect (endpoint and password), and a
// release whose holder connection is gone unpauses over a new connection —
// after checking (run_id) that it is still the same server process. A pause
// whose client died ends on the server by itself (the timeout given to
// CLIENT PAUSE); that is the backstop, set beyond the rest of the
// acquisition plus the lease, so our watchdog always comes first.
//
// Messages: Redis error strings are used (they are the useful part), with
// every payload value the session knows (password, user, host, socket,
// label) replaced by "<redacted>" first, in case a reply echoes an argument
// ("unknown command ..., with args beginning with: ...").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"
#include "server_common.hpp"

struct redisContext;
struct redisReply;

namespace taskexec_examples::redis {

/// The engine type name.
inline constexpr std::string_view engine_name = "redis";

/// How long a release (unquiesce, watchdog, exit) may wait for the server.
inline constexpr std::int64_t release_timeout_ms = 5000;

struct ReplyDeleter {
    void operator()(redisReply* r) const noexcept;
};
/// A hiredis reply that frees itself.
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

/// The fields of one INFO section ("redis_version" -> "7.0.15").
using Info = std::map<std::string, std::string, std::less<>>;

/// One holder connection. Not thread-safe: the LeaseTable's per-session
/// mutex serialises release and the watchdog.
class Session {
public:
    /// Connects to the payload's unix `socket`, else `host` (default
    /// 127.0.0.1) and `port` (default 6379), within `budget_ms`; sends AUTH
    /// ([user] password) when password_env is given, and CLIENT SETNAME
    /// with the label. Commands time out after `budget_ms` too. Throws
    /// db_error connect / permission / config.
    static std::unique_ptr<Session> connect(const QuiesceParams& p, const db_where& where,
                                            std::int64_t budget_ms);

    /// Lifts a pause this session took and did not release (a quiesce that
    /// failed after CLIENT PAUSE was sent), then closes.
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Runs one command (arguments are sent as binary-safe strings, never
    /// formatted). Throws a classified db_error: an error reply with the
    /// redacted Redis text, or a lost / timed-out connection.
    Reply command(const std::vector<std::string_view>& args, const db_where& where);
    /// INFO <section> as a map.
    Info info(const std::string& section, const db_where& where);
    /// CONFIG GET <name>: the value, or nullopt when the server has no such
    /// parameter (an older version).
    std::optional<std::string> config_get(const std::string& name, const db_where& where);

    /// Client-side timeout for every later command.
    void set_timeout(std::int64_t ms);

    /// CLIENT PAUSE <ms> WRITE. The session counts as pausing from the moment
    /// the command is sent: a reply that never arrives may still have paused
    /// the server, so cleanup must unpause either way.
    void pause(std::int64_t server_timeout_ms, const db_where& where);
    /// Whether this session (still) owes the server a CLIENT UNPAUSE.
    bool pausing() const noexcept { return pausing_; }

    /// unquiesce_db: CLIENT UNPAUSE on the holder connection, or on a new one
    /// if the holder was lost. Returns {"unpaused_via": "holder" | "reconnect"}.
    /// Throws session_lost if the server restarted meanwhile (the pause died
    /// with it), release_failed (may_be_frozen) if no connection succeeds.
    taskexec::json release();
    /// Lifts the pause this session owes, if any, reconnecting once if
    /// needed; never throws; the connect and each command are bounded by
    /// release_timeout_ms. True if no pause is owed afterwards.
    /// Either way it is not tried again: the server-side timeout is the
    /// backstop for a pause that could not be lifted.
    bool lift() noexcept;
    /// Watchdog / process exit: lift(), then close.
    void abandon() noexcept;

    /// The server process (INFO server run_id), set by quiesce_db; a
    /// reconnect that finds another run_id talks to a restarted server.
    std::string run_id;
    /// CLIENT ID of the holder connection (0 if unknown).
    long long client_id() const noexcept { return client_id_; }

private:
    Session() = default;
    /// Opens (or reopens) the connection and authenticates.
    void open(const db_where& where, std::int64_t timeout_ms);
    void close() noexcept;
    /// CLIENT UNPAUSE, reconnecting once if the holder connection is gone.
    /// Returns how it got through ("holder" | "reconnect").
    std::string unpause(const db_where& where);
    /// `text` with every known payload value replaced by "<redacted>".
    std::string redact(std::string text) const;
    [[noreturn]] void throw_io_error(const db_where& where);

    redisContext* ctx_ = nullptr;
    std::string host_;
    int port_ = 0;
    std::string socket_;
    std::string user_;
    std::string label_;
    std::optional<server::Secret> password_;
    long long client_id_ = 0;
    bool pausing_ = false;
};

/// The held sessions of this plugin, by lease id (never destroyed: the
/// lease library may release from its exit hook).
inline LeaseTable<Session>& leases() {
    static auto* const table = new LeaseTable<Session>(std::string(engine_name));
    return *table;
}

}  // namespace taskexec_examples::redis
