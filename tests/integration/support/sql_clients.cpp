// tests/integration/support/sql_clients.cpp — see sql_clients.hpp.
#include "sql_clients.hpp"

#include <mysql.h>
#include <libpq-fe.h>

#include <memory>

namespace taskexec_it {

namespace {

void quiet(void*, const char*) {}  // keep NOTICEs off the test output

std::string pg_state(const PGresult* res) {
    const char* s = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    return s != nullptr ? s : "";
}

using PgRes = std::unique_ptr<PGresult, decltype(&PQclear)>;

PgRes pg_run(PGconn* conn, const std::string& sql) {
    PgRes res(PQexec(conn, sql.c_str()), &PQclear);
    const auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        throw SqlError(PQerrorMessage(conn), pg_state(res.get()));
    return res;
}

[[noreturn]] void my_fail(MYSQL* conn) {
    throw SqlError(mysql_error(conn), mysql_sqlstate(conn), mysql_errno(conn));
}

}  // namespace

void mysql_init_once() {
    static const int rc = mysql_library_init(0, nullptr, nullptr);
    if (rc != 0) throw std::runtime_error("mysql_library_init failed");
}

PgClient::PgClient(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (conn_ == nullptr) throw std::runtime_error("PQconnectdb: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
        const std::string why = PQerrorMessage(conn_);
        PQfinish(conn_);
        throw SqlError("connect: " + why, "08000");
    }
    PQsetNoticeProcessor(conn_, &quiet, nullptr);
}

PgClient::~PgClient() { PQfinish(conn_); }

void PgClient::exec(const std::string& sql) {
    // A multi-statement string stops at the first error with the
    // transaction aborted; roll back so the connection stays usable.
    try {
        pg_run(conn_, sql);
    } catch (const SqlError&) {
        if (PQtransactionStatus(conn_) == PQTRANS_INERROR) PQclear(PQexec(conn_, "ROLLBACK"));
        throw;
    }
}

std::string PgClient::value(const std::string& sql) {
    PgRes res = pg_run(conn_, sql);
    if (PQntuples(res.get()) == 0 || PQnfields(res.get()) == 0 || PQgetisnull(res.get(), 0, 0))
        return {};
    return PQgetvalue(res.get(), 0, 0);
}

int PgClient::backend_pid() const { return PQbackendPID(conn_); }

MyClient::MyClient(const std::string& socket, const std::string& user, const std::string& password,
                   const std::string& database) {
    mysql_init_once();
    conn_ = mysql_init(nullptr);
    if (conn_ == nullptr) throw std::runtime_error("mysql_init: out of memory");
    const my_bool no = 0;
    const unsigned int timeout = 10;
    mysql_optionsv(conn_, MYSQL_OPT_RECONNECT, &no);
    mysql_optionsv(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (mysql_real_connect(conn_, nullptr, user.c_str(), password.c_str(),
                           database.empty() ? nullptr : database.c_str(), 0, socket.c_str(),
                           0) == nullptr) {
        const SqlError e(std::string("connect: ") + mysql_error(conn_), mysql_sqlstate(conn_),
                         mysql_errno(conn_));
        mysql_close(conn_);
        throw e;
    }
}

MyClient::~MyClient() { mysql_close(conn_); }

void MyClient::exec(const std::string& sql) {
    if (mysql_real_query(conn_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        my_fail(conn_);
    if (MYSQL_RES* res = mysql_store_result(conn_)) mysql_free_result(res);
}

std::string MyClient::value(const std::string& sql) {
    if (mysql_real_query(conn_, sql.data(), static_cast<unsigned long>(sql.size())) != 0)
        my_fail(conn_);
    std::unique_ptr<MYSQL_RES, decltype(&mysql_free_result)> res(mysql_store_result(conn_),
                                                                 &mysql_free_result);
    if (!res) return {};
    MYSQL_ROW row = mysql_fetch_row(res.get());
    return row != nullptr && row[0] != nullptr ? row[0] : "";
}

unsigned long MyClient::id() const { return mysql_thread_id(conn_); }

}  // namespace taskexec_it
