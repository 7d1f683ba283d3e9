// examples/tasks/db_tasks.hpp — the three tasks of the `sales` snapshot workflow.
//
//     quiesce_db  ->  snapshot_files  ->  unquiesce_db
//     (lease)         (copy the files)    (release; quiesce_db's compensation)
//
// One payload type serves every engine: the common fields, then each
// engine's own. Every field has a default, so an engine that does not use a
// field ignores it, and a field given with the wrong JSON type is
// `invalid_payload` naming the field before any engine code runs. Engines
// check the fields they require (e.g. sqlite's `path`) themselves.
//
// Credentials only by reference: `password_env` names an environment
// variable. There is deliberately no `password` field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <taskexec/taskexec.hpp>

namespace taskexec_examples {

using taskexec::json;

/// What quiesce_db reads.
struct QuiesceParams {
    // common
    std::int64_t max_hold_ms = 60000;         ///< lease length; above 600000 is invalid
    std::int64_t acquire_timeout_ms = 10000;  ///< bound on taking the lock
    std::string label = "taskexec";           ///< shown in server-side views

    // connection (server engines)
    std::string host;          ///< empty: the engine's default / the socket
    int port = 0;              ///< 0: the engine's default
    std::string socket;        ///< unix socket path (mariadb/mysql)
    std::string dbname;        ///< postgres database
    std::string user;          ///< role / user name
    std::string password_env;  ///< NAME of the environment variable holding the password
    std::string uri;           ///< mongo connection string (no password inside; see password_env)

    // sqlite
    std::string path;                   ///< database file
    std::string mode = "immediate";     ///< immediate | exclusive
    std::string checkpoint = "truncate";  ///< truncate | passive | none

    // postgres
    bool fast_checkpoint = true;
    bool block_writes = false;
    std::vector<std::string> tables;  ///< tables to SHARE-lock with block_writes
    std::string data_dir;             ///< PGDATA / datadir to list for the copy (server engines)

    // mariadb / mysql
    std::string method;  ///< backup_stage (MariaDB default) | ftwrl
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(QuiesceParams, max_hold_ms, acquire_timeout_ms,
                                                label, host, port, socket, dbname, user,
                                                password_env, uri, path, mode, checkpoint,
                                                fast_checkpoint, block_writes, tables, data_dir,
                                                method)

/// What unquiesce_db reads: the lease quiesce_db returned (merged into the
/// run payload by the workflow run). No lease id at all is a harmless no-op.
struct UnquiesceParams {
    std::string lease_id;
    /// Where postgres writes backup_label / tablespace_map, and the copy that
    /// is sealed (hashed, synced) after the release.
    std::string snapshot_dir;
    /// false in the result of a snapshot_files that copied under this lease
    /// and left the hashing for after the release. Only then is the copy
    /// sealed: a run merges a step's result into the payload only if the
    /// step succeeded, so a copy that failed or timed out is never sealed.
    bool sealed = true;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UnquiesceParams, lease_id, snapshot_dir, sealed)

/// What snapshot_files reads: quiesce_db's result plus the destination.
struct SnapshotParams {
    std::string source_dir;                  ///< files_to_copy are relative to it
    std::vector<std::string> files_to_copy;  ///< files or directories (copied recursively)
    std::vector<std::string> exclude;        ///< file names never copied (postmaster.pid)
    std::string snapshot_dir;                ///< destination; created if missing
    std::int64_t max_bytes_per_s = 0;        ///< copy throttle, sparing the live I/O; 0: none
    /// The hold the copy runs under (quiesce_db's result, merged in by the
    /// run). With one, hashing and syncing wait until unquiesce_db has
    /// released it (snapshot_seal.hpp); without one, they happen here.
    std::string lease_id;
    bool hash_during_hold = false;  ///< hash and sync here even under a lease
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SnapshotParams, source_dir, files_to_copy, exclude,
                                                snapshot_dir, max_bytes_per_s, lease_id,
                                                hash_during_hold)

struct UnquiesceDb;

/// Holds a database still so a file copy is consistent. Result (json):
/// lease_id, engine, elapsed_ms, deadline_ms, source_dir, files_to_copy,
/// exclude, and the engine's consistency point.
struct QuiesceDb : taskexec::Task<"quiesce_db", QuiesceParams, json> {
    static constexpr std::string_view description =
        "hold a database still (a lease) so that a copy of its files is consistent";
    using compensation = UnquiesceDb;
};

/// Releases a quiesce_db lease on the session that took it. Result (json):
/// lease_id, engine, elapsed_ms, held_ms, released_by; after an explicit
/// release, `snapshot` {snapshot_dir, files [{path, size, sha256}],
/// total_bytes, seal_ms} when the payload holds snapshot_files' result of a
/// copy under the lease that waits to be hashed and synced (snapshot_seal.hpp).
struct UnquiesceDb : taskexec::Task<"unquiesce_db", UnquiesceParams, json> {
    static constexpr std::string_view description =
        "release a quiesce_db lease (idempotent; no lease id is a no-op)";
};

/// Copies the files quiesce_db listed and records their sizes and SHA-256.
/// Result (json): snapshot_dir, files [{path, size, sha256}], total_bytes,
/// sealed. Under a lease (the `sales` run) the copy is only copied, so the
/// database is held no longer than a plain copy takes: files are [{path,
/// size}], sealed is false, and unquiesce_db reports the SHA-256 of each
/// file once it has released the database (its result's `snapshot`).
struct SnapshotFiles : taskexec::Task<"snapshot_files", SnapshotParams, json> {
    static constexpr std::string_view description =
        "copy the files a quiesce listed; sizes and SHA-256 (after the release under a lease)";
};

}  // namespace taskexec_examples
