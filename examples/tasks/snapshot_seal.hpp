// examples/tasks/snapshot_seal.hpp — finishing a snapshot after the database
// is released: hash and sync the copies.
//
//     // snapshot_files, while the database is held (lease_id in its payload):
//     write_seal_marker(snapshot_dir, lease_id, files);   // files: [{path, size}]
//
//     // unquiesce_db, after an explicit release (LeaseTable::unquiesce):
//     if (auto sealed = seal_snapshot(snapshot_dir, lease_id, where))
//         result["snapshot"] = *sealed;   // files [{path, size, sha256}], total_bytes
//
// Why: a hold costs writers its whole length, and hashing runs at half the
// speed of a kernel copy. So inside the `sales` workflow snapshot_files only
// copies; the SHA-256 and the fsync of each copy come after the release, in
// unquiesce_db. What connects the two steps is a marker file in the snapshot
// directory, `.taskexec-unsealed.json` (lease id, files, sizes), not memory:
// the unquiesce may run in a plugin that has its own copy of every inline
// variable, and a marker also survives a crash, leaving the directory
// recognisably unsealed.
//
// The marker is removed once every file is hashed and synced, so a snapshot
// directory without it is complete. A release by the watchdog or a lost
// session never seals: the marker stays, and unquiesce_db fails as before.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"

namespace taskexec_examples {

/// The marker's file name, at the top of the snapshot directory.
inline constexpr std::string_view seal_marker_name = ".taskexec-unsealed.json";

/// Records that `files` ([{path, size}], paths relative to `snapshot_dir`)
/// were copied under `lease_id` and still need hashing and syncing. Throws
/// std::system_error (never naming the path) if the marker cannot be written.
void write_seal_marker(const std::filesystem::path& snapshot_dir, std::string_view lease_id,
                       const taskexec::json& files);

/// Hashes and fsyncs every file the marker in `snapshot_dir` lists for
/// `lease_id`, then removes the marker. Returns {snapshot_dir, files [{path,
/// size, sha256}], total_bytes, seal_ms}; nullopt when there is nothing to
/// seal (no snapshot_dir, no marker, or a marker of another lease). A file
/// that is missing, is a link or changed size since the copy is a db_error
/// (precondition) at `where`, naming no path; the marker then stays.
std::optional<taskexec::json> seal_snapshot(std::string_view snapshot_dir,
                                            std::string_view lease_id, const db_where& where);

}  // namespace taskexec_examples
