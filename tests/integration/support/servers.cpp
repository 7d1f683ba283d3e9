// tests/integration/support/servers.cpp — see servers.hpp.
#include "servers.hpp"
#include "sql_clients.hpp"

#include <mysql.h>
#include <signal.h>
#include <unistd.h>
#include <libpq-fe.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <thread>

namespace taskexec_it {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string pg_bin = "/usr/lib/postgresql/15/bin/";

// libpq conninfo values are quoted so a TMPDIR with spaces still works.
std::string conninfo_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

using PgConn = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

PgConn pg_connect(const std::string& conninfo) {
    PgConn conn(PQconnectdb(conninfo.c_str()), &PQfinish);
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error(std::string("admin connect: ") +
                                 (conn ? PQerrorMessage(conn.get()) : "out of memory"));
    return conn;
}

PgResult pg_exec(PGconn* conn, const std::string& sql) {
    PgResult res(PQexec(conn, sql.c_str()), &PQclear);
    const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error("admin SQL failed: " + std::string(PQerrorMessage(conn)));
    return res;
}

std::string read_first_line(const fs::path& file) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    return line;
}

using MyConn = std::unique_ptr<MYSQL, decltype(&mysql_close)>;

MyConn my_connect(const fs::path& socket) {
    mysql_init_once();
    MyConn conn(mysql_init(nullptr), &mysql_close);
    if (!conn) throw std::runtime_error("mysql_init: out of memory");
    unsigned int timeout = 10;
    mysql_options(conn.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (mysql_real_connect(conn.get(), nullptr, "root", "", nullptr, 0, socket.c_str(), 0) ==
        nullptr)
        throw std::runtime_error(std::string("admin connect: ") + mysql_error(conn.get()));
    return conn;
}

void my_query(MYSQL* conn, const std::string& sql) {
    if (mysql_real_query(conn, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        throw std::runtime_error("admin SQL failed (" + std::to_string(mysql_errno(conn)) +
                                 "): " + mysql_error(conn));
}

}  // namespace

// --- PostgreSQL -----------------------------------------------------------

PostgresServer::PostgresServer()
    : work_("pg"), data_dir_(work_ / "data"), socket_dir_(work_ / "sock") {
    fs::create_directory(socket_dir_);
    work_.give_to("postgres");
    const fs::path log = work_ / "initdb.log";
    // --no-sync: a throwaway cluster need not survive a power cut, and the
    // fsyncs are most of initdb's time.
    const int rc =
        run(as_user("postgres", {pg_bin + "initdb", "-D", data_dir_.string(), "-U", "postgres",
                                 "-A", "trust", "--encoding=UTF8", "--locale=C", "--no-sync"}),
            log, 120s);
    if (rc != 0)
        throw std::runtime_error("initdb failed (" + std::to_string(rc) + "):\n" + tail_of(log));
    // The superuser keeps trust on the private socket (the fixture's admin);
    // every other role must give a password, so engine tests exercise
    // password_env for real.
    {
        std::ofstream hba(data_dir_ / "pg_hba.conf", std::ios::trunc);
        hba << "local all postgres trust\n"
               "local all all scram-sha-256\n";
    }
    give_tree_to(data_dir_ / "pg_hba.conf", "postgres");
    start(60);
}

PostgresServer::PostgresServer(adopt_tag, const fs::path& data_dir, int wait_seconds)
    : work_("pg-adopt"), data_dir_(data_dir), socket_dir_(work_ / "sock") {
    fs::create_directory(socket_dir_);
    work_.give_to("postgres");
    give_tree_to(data_dir_, "postgres");
    // The server refuses a data directory that others can read.
    fs::permissions(data_dir_, fs::perms::owner_all, fs::perm_options::replace);
    start(wait_seconds);
}

std::unique_ptr<PostgresServer> PostgresServer::adopt(const fs::path& data_dir, int wait_seconds) {
    return std::unique_ptr<PostgresServer>(new PostgresServer(adopt_tag{}, data_dir, wait_seconds));
}

void PostgresServer::start(int wait_seconds) {
    port_ = free_port();
    // Unix socket only (listen_addresses=''); the port just names the socket
    // file. fsync=off: the tests never crash the machine, and WAL still goes
    // to the files we copy — only its flush to disk is skipped.
    const std::string options = "-k " + socket_dir_.string() + " -p " + std::to_string(port_) +
                                " -c listen_addresses='' -c fsync=off";
    const fs::path log = work_ / "pg_ctl.log";
    const int rc = run(
        as_user("postgres", {pg_bin + "pg_ctl", "start", "-w", "-t", std::to_string(wait_seconds),
                             "-D", data_dir_.string(), "-l", log_file().string(), "-o", options}),
        log, std::chrono::seconds(wait_seconds + 15));
    running_ = true;  // even on failure: stop() then cleans up a half-started server
    if (rc != 0) {
        const std::string why = tail_of(log) + "\n" + tail_of(log_file());
        stop();
        throw std::runtime_error("pg_ctl start failed (" + std::to_string(rc) + "):\n" + why);
    }
}

PostgresServer::~PostgresServer() {
    try {
        stop();
    } catch (...) {
        // A destructor must not throw; stop() already escalated to SIGKILL.
    }
}

pid_t PostgresServer::postmaster_pid() const {
    const std::string line = read_first_line(data_dir_ / "postmaster.pid");
    try {
        return line.empty() ? -1 : static_cast<pid_t>(std::stol(line));
    } catch (const std::exception&) {
        return -1;
    }
}

void PostgresServer::stop() {
    if (!running_) return;
    running_ = false;
    const pid_t pid = postmaster_pid();
    const fs::path log = work_ / "pg_ctl.log";
    // fast: roll back sessions and shut down cleanly; immediate if that
    // hangs; SIGKILL as the last resort so no test ever leaves a server.
    for (const char* mode : {"fast", "immediate"}) {
        if (!pid_alive(pid)) return;
        const int rc = run(as_user("postgres", {pg_bin + "pg_ctl", "stop", "-w", "-t", "20", "-m",
                                                mode, "-D", data_dir_.string()}),
                           log, 30s);
        if (rc == 0) return;
    }
    if (pid > 0) ::kill(pid, SIGKILL);
}

std::string PostgresServer::admin_conninfo(const std::string& dbname) const {
    return "host=" + conninfo_value(socket_dir_.string()) + " port=" + std::to_string(port_) +
           " user=postgres dbname=" + conninfo_value(dbname) + " connect_timeout=10";
}

void PostgresServer::exec(const std::string& sql, const std::string& dbname) const {
    PgConn conn = pg_connect(admin_conninfo(dbname));
    pg_exec(conn.get(), sql);
}

std::string PostgresServer::query_value(const std::string& sql, const std::string& dbname) const {
    PgConn conn = pg_connect(admin_conninfo(dbname));
    PgResult res = pg_exec(conn.get(), sql);
    if (PQntuples(res.get()) == 0 || PQnfields(res.get()) == 0 || PQgetisnull(res.get(), 0, 0))
        return {};
    return PQgetvalue(res.get(), 0, 0);
}

void PostgresServer::create_login(const std::string& name, const std::string& password) const {
    PgConn conn = pg_connect(admin_conninfo());
    std::unique_ptr<char, decltype(&PQfreemem)> id(
        PQescapeIdentifier(conn.get(), name.data(), name.size()), &PQfreemem);
    std::unique_ptr<char, decltype(&PQfreemem)> pw(
        PQescapeLiteral(conn.get(), password.data(), password.size()), &PQfreemem);
    if (!id || !pw) throw std::runtime_error("escaping failed");
    pg_exec(conn.get(), std::string("CREATE ROLE ") + id.get() + " LOGIN PASSWORD " + pw.get());
}

// --- MariaDB --------------------------------------------------------------

MariaDbServer::MariaDbServer()
    : work_("mariadb"), data_dir_(work_ / "data"), socket_(work_ / "mysqld.sock") {
    work_.give_to("mysql");
    const bool root = ::geteuid() == 0;
    // --no-defaults (must come first) keeps /etc/mysql/my.cnf — the system
    // server's socket, datadir and port — out of our throwaway server.
    // A small redo log makes install and startup a second or two faster, and
    // flushing the redo log once a second instead of at every commit lets
    // the writers commit at memory speed (a throwaway server need not
    // survive a power cut; locking behaves the same).
    const std::vector<std::string> common{"--innodb-log-file-size=8M", "--skip-name-resolve",
                                          "--innodb-flush-log-at-trx-commit=2"};
    std::vector<std::string> install{"/usr/bin/mariadb-install-db", "--no-defaults",
                                     "--datadir=" + data_dir_.string(),
                                     "--auth-root-authentication-method=normal", "--skip-test-db"};
    if (root) install.push_back("--user=mysql");
    install.insert(install.end(), common.begin(), common.end());
    const fs::path install_log = work_ / "install.log";
    const int rc = run(install, install_log, 120s);
    if (rc != 0)
        throw std::runtime_error("mariadb-install-db failed (" + std::to_string(rc) + "):\n" +
                                 tail_of(install_log));

    std::vector<std::string> serve{"/usr/sbin/mariadbd",
                                   "--no-defaults",
                                   "--datadir=" + data_dir_.string(),
                                   "--socket=" + socket_.string(),
                                   "--skip-networking",
                                   "--pid-file=" + (work_ / "mariadbd.pid").string(),
                                   "--log-error=" + log_file().string(),
                                   "--innodb-buffer-pool-size=64M"};
    if (root) serve.push_back("--user=mysql");
    serve.insert(serve.end(), common.begin(), common.end());
    process_ = Process::spawn(serve, work_ / "mariadbd.out");

    const auto until = std::chrono::steady_clock::now() + 60s;
    for (;;) {
        if (!process_.running())
            throw std::runtime_error("mariadbd exited during startup:\n" + tail_of(log_file()));
        try {
            my_connect(socket_);
            return;
        } catch (const std::runtime_error&) {
            if (std::chrono::steady_clock::now() > until) {
                process_.stop(5s);
                throw std::runtime_error("mariadbd not ready within 60 s:\n" + tail_of(log_file()));
            }
            std::this_thread::sleep_for(50ms);
        }
    }
}

MariaDbServer::~MariaDbServer() { stop(); }

void MariaDbServer::stop() {
    // SIGTERM is mariadbd's clean shutdown; Process::stop escalates to SIGKILL.
    process_.stop(30s);
}

void MariaDbServer::exec(const std::string& sql) const {
    MyConn conn = my_connect(socket_);
    my_query(conn.get(), sql);
    // A statement that returns rows must have them read before closing.
    if (MYSQL_RES* res = mysql_store_result(conn.get())) mysql_free_result(res);
}

std::vector<std::string> MariaDbServer::query_rows(const std::string& sql) const {
    MyConn conn = my_connect(socket_);
    my_query(conn.get(), sql);
    std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> res(mysql_store_result(conn.get()),
                                                                 &mysql_free_result);
    std::vector<std::string> rows;
    if (!res) return rows;
    const unsigned int n = mysql_num_fields(res.get());
    while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
        std::string line;
        for (unsigned int i = 0; i < n; ++i) {
            if (i > 0) line += '\t';
            line += row[i] ? row[i] : "NULL";
        }
        rows.push_back(std::move(line));
    }
    return rows;
}

std::string MariaDbServer::query_value(const std::string& sql) const {
    const std::vector<std::string> rows = query_rows(sql);
    if (rows.empty()) return {};
    const std::string first = rows.front().substr(0, rows.front().find('\t'));
    return first == "NULL" ? std::string() : first;
}

void MariaDbServer::create_login(const std::string& name, const std::string& password) const {
    MyConn conn = my_connect(socket_);
    const auto quote = [&](const std::string& s) {
        std::string out(s.size() * 2 + 1, '\0');
        out.resize(mysql_real_escape_string(conn.get(), out.data(), s.data(),
                                            static_cast<unsigned long>(s.size())));
        return "'" + out + "'";
    };
    my_query(conn.get(),
             "CREATE USER " + quote(name) + "@'localhost' IDENTIFIED BY " + quote(password));
}

// --- /proc ------------------------------------------------------------------

bool any_process_mentions(const std::string& needle) {
    const std::string self = std::to_string(::getpid());
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string pid = entry.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        for (const char* file : {"cmdline", "environ"}) {
            if (pid == self && std::string(file) == "environ") continue;  // holds it by design
            std::ifstream in(entry.path() / file, std::ios::binary);
            const std::string text((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
            if (text.find(needle) != std::string::npos) return true;
        }
    }
    return false;
}

}  // namespace taskexec_it
