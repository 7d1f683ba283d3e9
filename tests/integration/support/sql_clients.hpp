// tests/integration/support/sql_clients.hpp — plain client connections for
// the test code around the engines: writers, probes, administrators.
//
//     taskexec_it::PgClient pg(server.admin_conninfo("shop"));
//     pg.exec("UPDATE acct SET bal = bal WHERE id = 1");
//     taskexec_it::MyClient my(server.socket(), "root", "");
//     std::string n = my.value("SELECT COUNT(*) FROM shop.events");
//
// Deliberately independent of the engines' own session code: a test that
// checks an engine with the engine's helpers could share its bugs. One
// client per thread; neither class is thread-safe.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

struct pg_conn;
struct st_mysql;

namespace taskexec_it {

/// libmariadb's one-time global init, which is not thread-safe itself: the
/// first call makes it, under a function-local static (the engines under
/// test do the same). Every MariaDB connection of the test code calls it.
void mysql_init_once();

/// A failed statement: SQLSTATE (both servers) and, for MariaDB, its errno.
class SqlError : public std::runtime_error {
public:
    SqlError(const std::string& what, std::string sqlstate, unsigned int code = 0)
        : std::runtime_error(what), sqlstate_(std::move(sqlstate)), code_(code) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    unsigned int code() const noexcept { return code_; }

private:
    std::string sqlstate_;
    unsigned int code_;
};

/// A libpq connection.
class PgClient {
public:
    explicit PgClient(const std::string& conninfo);
    ~PgClient();
    PgClient(const PgClient&) = delete;
    PgClient& operator=(const PgClient&) = delete;

    /// Runs SQL (may hold several statements); throws SqlError.
    void exec(const std::string& sql);
    /// First column of the first row ("" for NULL / none); throws SqlError.
    std::string value(const std::string& sql);
    int backend_pid() const;

private:
    pg_conn* conn_;
};

/// A libmariadb connection over a unix socket (auto-reconnect off).
class MyClient {
public:
    MyClient(const std::string& socket, const std::string& user, const std::string& password,
             const std::string& database = "");
    ~MyClient();
    MyClient(const MyClient&) = delete;
    MyClient& operator=(const MyClient&) = delete;

    /// Runs one statement, discarding rows; throws SqlError.
    void exec(const std::string& sql);
    /// First column of the first row ("" for NULL / none); throws SqlError.
    std::string value(const std::string& sql);
    /// The server's id for this connection (what KILL takes).
    unsigned long id() const;

private:
    st_mysql* conn_;
};

}  // namespace taskexec_it
