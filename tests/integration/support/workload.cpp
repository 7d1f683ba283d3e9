// tests/integration/support/workload.cpp — see workload.hpp.
#include "workload.hpp"

#include <stdexcept>

#include "file_copy.hpp"

namespace taskexec_it {

namespace sq = taskexec_examples::sqlite;

SqliteDb::SqliteDb(const std::string& journal_mode, int sample_orders) : dir_("sqlite") {
    setup_.journal_mode = journal_mode;
    setup_.sample_orders = sample_orders;
    workload::create_database(path(), setup_);
}

std::map<std::string, std::string> hash_files(const std::filesystem::path& dir,
                                              const std::vector<std::string>& names) {
    std::map<std::string, std::string> out;
    for (const std::string& name : names)
        if (std::filesystem::exists(dir / name))
            out[name] = taskexec_examples::sha256_file(dir / name);
    return out;
}

bool write_lock_free(const std::string& path) {
    sq::Connection db = sq::open(path, SQLITE_OPEN_READWRITE);
    sqlite3_busy_timeout(db.get(), 0);
    if (sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
        return false;
    sq::exec(db.get(), "ROLLBACK");
    return true;
}

LockHolder::LockHolder(const std::string& path) : db_(sq::open(path, SQLITE_OPEN_READWRITE)) {
    sqlite3_busy_timeout(db_.get(), 5000);
    sq::exec(db_.get(), "BEGIN IMMEDIATE");
}

LockHolder::~LockHolder() { sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr); }

taskexec::json merged(taskexec::json base, const taskexec::json& extra) {
    base.update(extra);
    return base;
}

}  // namespace taskexec_it
