// examples/tasks/mariadb_session.hpp — the libmariadb connection that holds
// a MariaDB/MySQL server quiesced between quiesce_db and unquiesce_db.
//
//     auto s = mariadb::Session::connect(params, mariadb::Flavor::mariadb, where, budget_ms);
//     s->exec("BACKUP STAGE START", where);
//     s->release_sql = "BACKUP STAGE END";     // from now on the destructor releases
//     s->exec("BACKUP STAGE BLOCK_COMMIT", where);
//     std::string id = mariadb::leases(mariadb::Flavor::mariadb).hold(std::move(s), max_hold);
//
// Both BACKUP STAGE and FLUSH TABLES WITH READ LOCK belong to the connection
// that took them: the server drops them when it ends (release statement,
// disconnect, KILL, or the session's wait_timeout). So closing the Session
// is always a release — which is what the watchdog does. Errors are
// reported by errno/SQLSTATE with our own text, never the server's message
// (it can name the user and host).
#pragma once

#include <mysql.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "leased_session.hpp"

namespace taskexec_examples::mariadb {

/// Which engine type: same client library and protocol, different
/// defaults (MariaDB: BACKUP STAGE; MySQL: FTWRL) and lease tables.
enum class Flavor { mariadb, mysql };

/// "mariadb" | "mysql", the engine type names.
constexpr std::string_view engine_name(Flavor f) noexcept {
    return f == Flavor::mariadb ? "mariadb" : "mysql";
}

/// One row of text columns (nullopt for SQL NULL).
using Row = std::vector<std::optional<std::string>>;

/// One holder connection. Not thread-safe: the LeaseTable's per-session
/// mutex serialises release and the watchdog.
class Session {
public:
    /// Connects (socket, or host/port) as `user` with the password from
    /// password_env. Client-side connect/read/write timeouts follow
    /// `budget_ms` as a backstop to the server-side bounds; auto-reconnect is
    /// off, so a lost holder can never be silently replaced by a new
    /// session. Throws db_error connect / permission / config.
    static std::unique_ptr<Session> connect(const QuiesceParams& p, Flavor flavor,
                                            const db_where& where, std::int64_t budget_ms);

    /// Sends release_sql if set (a failed quiesce's cleanup), then closes.
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// Runs one statement, discarding any rows. Throws a classified db_error.
    void exec(const std::string& sql, const db_where& where);
    /// Runs one statement and returns its rows.
    std::vector<Row> query(const std::string& sql, const db_where& where);

    bool is_mariadb() const noexcept { return is_mariadb_; }
    unsigned long server_version() const noexcept { return server_version_; }
    unsigned long connection_id() const noexcept { return connection_id_; }

    /// The statement that ends what this session holds ("BACKUP STAGE END"
    /// or "UNLOCK TABLES"); empty while nothing is held.
    std::string release_sql;
    /// Which server and data directory this session holds (for
    /// already_quiesced: a second lease on the same server).
    std::string identity;

    /// unquiesce_db: the release statement, sent at most once. Throws
    /// session_lost if the server had already ended the session (KILL,
    /// wait_timeout), release_failed otherwise.
    taskexec::json release();

    /// Watchdog / process exit: close. The server drops the locks when the
    /// connection ends; closing never blocks the watchdog on a slow server.
    void abandon() noexcept;

private:
    Session(MYSQL* conn, Flavor flavor) noexcept;
    MYSQL* conn_;
    Flavor flavor_;
    bool is_mariadb_ = false;
    unsigned long server_version_ = 0;
    unsigned long connection_id_ = 0;
};

/// The classified error for the last failure on `conn`. `connecting`: the
/// lost-connection codes mean "could not connect" rather than "session lost".
db_error failure(MYSQL* conn, const db_where& where, bool connecting = false);

/// The held sessions of one engine type (never destroyed: the lease
/// library may release at process exit).
LeaseTable<Session>& leases(Flavor flavor);

/// quiesce_db for both engine types (see mariadb_engine.cpp).
taskexec::json quiesce(const QuiesceParams& p, Flavor flavor, taskexec::Context& ctx);

}  // namespace taskexec_examples::mariadb
