// examples/tasks/payload_text.hpp — text payload fields that no database or
// file system takes as given.
//
//     check_text_fields(p, where);                   // every string of QuiesceParams
//     check_text("snapshot_dir", dir, where);        // one field
//
// A NUL byte is refused because every C API below us (libsqlite3, libpq,
// libmariadb, libmongoc, open(2)) stops reading a string there: "acct\0x"
// would quietly name another database, user or file. A value longer than
// max_text_bytes is refused before it reaches a server (PATH_MAX is 4096;
// no identifier, label or user name comes near it). Quotes, semicolons and
// the like are not refused: engines bind or quote every value they put into
// SQL, so `x'; DROP TABLE acct; --` is only an odd label or a missing table.
// The messages name the field, never the value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "db_error.hpp"
#include "db_tasks.hpp"

namespace taskexec_examples {

/// The longest text payload field accepted, in bytes.
constexpr std::size_t max_text_bytes = 4096;

/// Throws a config db_error if `value` holds a NUL byte or is too long.
inline void check_text(std::string_view field, const std::string& value, const db_where& where) {
    const char* problem = value.find('\0') != std::string::npos ? "holds a NUL byte"
                          : value.size() > max_text_bytes       ? "is longer than 4096 bytes"
                                                                : nullptr;
    if (problem)
        throw db_error(db_error_kind::config, where, "",
                       "payload field '" + std::string(field) + "' " + problem, false);
}

/// check_text() for every string field of a quiesce payload.
inline void check_text_fields(const QuiesceParams& p, const db_where& where) {
    const std::pair<std::string_view, const std::string*> fields[] = {
        {"label", &p.label},   {"host", &p.host},         {"socket", &p.socket},
        {"dbname", &p.dbname}, {"user", &p.user},         {"password_env", &p.password_env},
        {"uri", &p.uri},       {"path", &p.path},         {"mode", &p.mode},
        {"checkpoint", &p.checkpoint}, {"data_dir", &p.data_dir}, {"method", &p.method}};
    for (const auto& [name, value] : fields) check_text(name, *value, where);
    for (const std::string& table : p.tables) check_text("tables", table, where);
}

}  // namespace taskexec_examples
