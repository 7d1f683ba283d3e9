// examples/tasks/mariadb_session.cpp — see mariadb_session.hpp.
#include "mariadb_session.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include <stdexcept>
#include <utility>

#include "server_common.hpp"

namespace taskexec_examples::mariadb {

namespace {

// MySQL 5.7+/8.0 codes that MariaDB's headers do not define.
constexpr unsigned int mysql_er_query_timeout = 3024;               // max_execution_time
constexpr unsigned int mysql_er_client_interaction_timeout = 4031;  // wait_timeout (8.0.24+)

// libmariadb's global init is not thread-safe; a function-local static
// makes the first call so (C++11 guarantees one initialisation).
void library_init_once() {
    static const int rc = mysql_library_init(0, nullptr, nullptr);
    if (rc != 0) throw std::runtime_error("mysql_library_init failed");
}

bool is_lost_connection(unsigned int code) {
    return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST ||
           code == CR_SERVER_LOST_EXTENDED || code == ER_CONNECTION_KILLED ||
           code == ER_SERVER_SHUTDOWN || code == mysql_er_client_interaction_timeout;
}

}  // namespace

db_error failure(MYSQL* conn, const db_where& where, bool connecting) {
    const unsigned int code = mysql_errno(conn);
    const std::string native =
        "errno " + std::to_string(code) + " (SQLSTATE " + mysql_sqlstate(conn) + ")";
    auto make = [&](db_error_kind kind, const char* text) {
        return db_error(kind, where, native, text, false);
    };
    switch (code) {
        case ER_LOCK_WAIT_TIMEOUT:
        case ER_STATEMENT_TIMEOUT:
        case mysql_er_query_timeout:
            return make(db_error_kind::acquire_timeout,
                        "not granted within acquire_timeout_ms (lock_wait_timeout / "
                        "max_statement_time)");
        case ER_DBACCESS_DENIED_ERROR:
        case ER_ACCESS_DENIED_ERROR:
        case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
            return make(db_error_kind::permission,
                        "access denied (check user and the variable named by password_env)");
        case ER_TABLEACCESS_DENIED_ERROR:
        case ER_SPECIFIC_ACCESS_DENIED_ERROR:
            return make(db_error_kind::permission,
                        "insufficient privilege (BACKUP STAGE and FLUSH TABLES WITH READ LOCK "
                        "need RELOAD)");
        case CR_CONNECTION_ERROR:
        case CR_CONN_HOST_ERROR:
        case CR_UNKNOWN_HOST:
            return make(db_error_kind::connect,
                        "could not connect (check host, port or socket, and that the server "
                        "is running)");
        case ER_BACKUP_LOCK_IS_ACTIVE:
            return make(db_error_kind::already_quiesced,
                        "another connection is already running BACKUP STAGE");
        case ER_PARSE_ERROR:
            return make(db_error_kind::precondition,
                        "statement not supported by this server (BACKUP STAGE needs MariaDB "
                        "10.4.1 or later; use method 'ftwrl')");
        case ER_BACKUP_WRONG_STAGE:
        case ER_BACKUP_NOT_RUNNING:
        case ER_BACKUP_STAGE_FAILED:
            return make(db_error_kind::precondition, "BACKUP STAGE refused by the server");
        case ER_QUERY_INTERRUPTED:
            return make(db_error_kind::precondition, "the statement was interrupted (KILL QUERY)");
        default: break;
    }
    if (is_lost_connection(code))
        return connecting ? make(db_error_kind::connect, "the server closed the connection")
                          : make(db_error_kind::session_lost,
                                 "the server ended the session (KILL, wait_timeout, or "
                                 "shutdown)");
    return make(db_error_kind::precondition, "the server reported an error");
}

Session::Session(MYSQL* conn, Flavor flavor) noexcept : conn_(conn), flavor_(flavor) {}

std::unique_ptr<Session> Session::connect(const QuiesceParams& p, Flavor flavor,
                                          const db_where& where, std::int64_t budget_ms) {
    library_init_once();
    const std::optional<server::Secret> password = server::password_from_env(p, where);
    MYSQL* conn = mysql_init(nullptr);
    if (conn == nullptr) throw db_error(db_error_kind::connect, where, "", "out of memory", false);
    std::unique_ptr<Session> session(new Session(conn, flavor));  // closes conn on any throw

    const auto seconds = static_cast<unsigned int>(server::ceil_seconds(budget_ms));
    // Client-side bounds are a backstop only: the server-side ones
    // (lock_wait_timeout, max_statement_time) answer first, with an error
    // code we can classify; these just stop a dead server from hanging us.
    const unsigned int io_seconds = seconds + 5;
    const my_bool no = 0;
    const unsigned int local_infile = 0;
    mysql_optionsv(conn, MYSQL_OPT_CONNECT_TIMEOUT, &seconds);
    mysql_optionsv(conn, MYSQL_OPT_READ_TIMEOUT, &io_seconds);
    mysql_optionsv(conn, MYSQL_OPT_WRITE_TIMEOUT, &io_seconds);
    mysql_optionsv(conn, MYSQL_OPT_RECONNECT, &no);
    mysql_optionsv(conn, MYSQL_OPT_LOCAL_INFILE, &local_infile);

    const auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
    if (mysql_real_connect(conn, opt(p.host), opt(p.user), password ? password->c_str() : nullptr,
                           nullptr, static_cast<unsigned int>(p.port), opt(p.socket), 0) == nullptr)
        throw failure(conn, where, /*connecting=*/true);
    Session* s = session.get();
    const char* info = mysql_get_server_info(conn);
    s->is_mariadb_ =
        info != nullptr && std::string_view(info).find("MariaDB") != std::string_view::npos;
    s->server_version_ = mysql_get_server_version(conn);
    s->connection_id_ = mysql_thread_id(conn);
    return session;
}

Session::~Session() {
    // A quiesce that failed after taking something: release it explicitly
    // (closing alone would too; this just does not depend on the server
    // noticing the disconnect).
    if (conn_ != nullptr && !release_sql.empty()) {
        const std::string sql = std::exchange(release_sql, {});
        mysql_real_query(conn_, sql.data(), static_cast<unsigned long>(sql.size()));
    }
    abandon();
}

void Session::abandon() noexcept {
    if (conn_ != nullptr) mysql_close(std::exchange(conn_, nullptr));
}

void Session::exec(const std::string& sql, const db_where& where) {
    if (conn_ == nullptr)
        throw db_error(db_error_kind::session_lost, where, "", "the session is closed", false);
    if (mysql_real_query(conn_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        throw failure(conn_, where);
    // Statements like SHOW return rows that must be read before the next one.
    if (MYSQL_RES* res = mysql_store_result(conn_))
        mysql_free_result(res);
    else if (mysql_field_count(conn_) != 0)
        throw failure(conn_, where);
}

std::vector<Row> Session::query(const std::string& sql, const db_where& where) {
    if (conn_ == nullptr)
        throw db_error(db_error_kind::session_lost, where, "", "the session is closed", false);
    if (mysql_real_query(conn_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        throw failure(conn_, where);
    std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> res(mysql_store_result(conn_),
                                                                 &mysql_free_result);
    std::vector<Row> rows;
    if (!res) {
        if (mysql_field_count(conn_) != 0) throw failure(conn_, where);
        return rows;
    }
    const unsigned int n = mysql_num_fields(res.get());
    while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
        const unsigned long* lengths = mysql_fetch_lengths(res.get());
        Row out;
        for (unsigned int i = 0; i < n; ++i) {
            if (row[i] == nullptr)
                out.emplace_back(std::nullopt);
            else
                out.emplace_back(std::string(row[i], lengths[i]));
        }
        rows.push_back(std::move(out));
    }
    return rows;
}

taskexec::json Session::release() {
    const db_where where{std::string(engine_name(flavor_)), "unquiesce_db", "release"};
    // Sent at most once: the LeaseTable destroys us after this, and the
    // destructor must not send it again.
    const std::string sql = std::exchange(release_sql, {});
    if (sql.empty()) return taskexec::json::object();
    if (mysql_real_query(conn_, sql.data(), static_cast<unsigned long>(sql.size())) != 0) {
        db_error e = failure(conn_, where);
        if (e.kind() == db_error_kind::session_lost) throw e;
        // The LeaseTable closes the connection next, and the server drops
        // the locks with it: not frozen, but not a clean release either.
        throw db_error(db_error_kind::release_failed, where, e.native_code(), e.message(), false);
    }
    abandon();
    return {{"release_statement", sql}};
}

LeaseTable<Session>& leases(Flavor flavor) {
    // Never destroyed: the lease library may release at process exit.
    static auto* mariadb_table = new LeaseTable<Session>("mariadb");
    static auto* mysql_table = new LeaseTable<Session>("mysql");
    return flavor == Flavor::mariadb ? *mariadb_table : *mysql_table;
}

}  // namespace taskexec_examples::mariadb
