// tests/integration/support/servers.hpp — throwaway PostgreSQL 15 and
// MariaDB servers for the integration tests.
//
//     taskexec_it::PostgresServer pg;                   // initdb + start, socket only
//     pg.exec("CREATE TABLE acct(id int PRIMARY KEY, bal int)", "postgres");
//     pg.create_login("tester", "sentinel-pw");         // password auth for the engine
//     json payload = {{"host", pg.socket_dir()}, {"port", pg.port()}, ...};
//     // ~PostgresServer: pg_ctl stop (killed on timeout), directory removed
//
//     taskexec_it::MariaDbServer my;                    // install-db + mariadbd on a socket
//     my.exec("CREATE DATABASE shop");
//
// Both run as their system users when we are root (CI is root, and both
// servers refuse root; runuser / --user), each in a fresh temp directory with
// a unix socket only — nothing listens on TCP, so parallel test runs and a
// developer's own servers never collide. The fixture's administrator is the
// server's superuser, authenticated by trust (postgres) or an empty root
// password (MariaDB), on the private socket; engine tests use a separate
// login whose password is set over that connection — never on a command line.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace taskexec_it {

/// A PostgreSQL 15 cluster in a temp dir, started on a private socket.
class PostgresServer {
public:
    /// initdb into a fresh temp dir and start it. Throws with the log's tail
    /// if either fails.
    PostgresServer();

    /// Starts a server on an existing data directory (e.g. a restored
    /// snapshot), which is chowned to postgres and chmod 0700 first. The
    /// directory is NOT removed on destruction; the server is stopped.
    /// `wait_seconds` bounds startup, which includes WAL replay.
    static std::unique_ptr<PostgresServer> adopt(const std::filesystem::path& data_dir,
                                                 int wait_seconds = 60);

    ~PostgresServer();
    PostgresServer(const PostgresServer&) = delete;
    PostgresServer& operator=(const PostgresServer&) = delete;

    const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
    std::string socket_dir() const { return socket_dir_.string(); }
    int port() const noexcept { return port_; }
    std::filesystem::path log_file() const { return work_.path() / "server.log"; }
    /// The postmaster's pid (from postmaster.pid), or -1 if not running.
    pid_t postmaster_pid() const;

    /// A libpq conninfo for the superuser `postgres` (trust on the socket).
    std::string admin_conninfo(const std::string& dbname = "postgres") const;

    /// Runs SQL (one or more statements) as the superuser; throws on error
    /// with the server's message.
    void exec(const std::string& sql, const std::string& dbname = "postgres") const;
    /// The first column of the first row as text ("" for NULL / no rows).
    std::string query_value(const std::string& sql, const std::string& dbname = "postgres") const;

    /// CREATE ROLE name LOGIN PASSWORD '...' (sent quoted over the socket).
    void create_login(const std::string& name, const std::string& password) const;

    /// pg_ctl stop -m fast; SIGKILL on timeout. Idempotent.
    void stop();

private:
    struct adopt_tag {};
    PostgresServer(adopt_tag, const std::filesystem::path& data_dir, int wait_seconds);
    void start(int wait_seconds);

    TempDir work_;  // socket, logs (and the data dir unless adopted)
    std::filesystem::path data_dir_;
    std::filesystem::path socket_dir_;
    int port_ = 0;
    bool running_ = false;
};

/// A MariaDB server (mariadbd) in a temp dir on a private unix socket.
class MariaDbServer {
public:
    /// mariadb-install-db into a fresh temp dir, start mariadbd, wait until
    /// it accepts connections. Throws with the log's tail if that fails.
    MariaDbServer();
    ~MariaDbServer();
    MariaDbServer(const MariaDbServer&) = delete;
    MariaDbServer& operator=(const MariaDbServer&) = delete;

    std::string socket() const { return socket_.string(); }
    const std::filesystem::path& data_dir() const noexcept { return data_dir_; }
    std::filesystem::path log_file() const { return work_.path() / "server.log"; }
    pid_t pid() const noexcept { return process_.pid(); }

    /// Runs one statement as root; throws on error with the server's message.
    void exec(const std::string& sql) const;
    /// The first column of the first row ("" for NULL / no rows).
    std::string query_value(const std::string& sql) const;
    /// Every row of a query, columns joined by '\t' (NULL as "NULL").
    std::vector<std::string> query_rows(const std::string& sql) const;

    /// CREATE USER name@localhost IDENTIFIED BY '...' (quoted, over the socket).
    void create_login(const std::string& name, const std::string& password) const;

    /// SIGTERM (a clean shutdown), SIGKILL after 30 s. Idempotent.
    void stop();

private:
    TempDir work_;
    std::filesystem::path data_dir_;
    std::filesystem::path socket_;
    Process process_;
};

/// True if some process's /proc/<pid>/cmdline — or environment, for every
/// process but this one — contains `needle`. The tests' proof that a
/// password never reached a child's argv (or leaked into a child's env).
/// Processes that exit while being read are skipped.
bool any_process_mentions(const std::string& needle);

}  // namespace taskexec_it
