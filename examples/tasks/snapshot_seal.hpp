// examples/tasks/snapshot_seal.hpp — finishing a snapshot after the database
// is released: hash and sync the copies, and record them in the snapshot.
//
//     // snapshot_files, while the database is held (lease_id in its payload):
//     write_seal_marker(snapshot_dir_fd, lease_id, files);   // files: [{path, size, device,
//     inode}]
//
//     // unquiesce_db, after an explicit release, given snapshot_files' result
//     // (snapshot_dir, sealed: false) — LeaseTable::unquiesce:
//     if (auto sealed = seal_snapshot(snapshot_dir, lease_id, where))
//         result["snapshot"] = *sealed;   // files [{path, size, sha256}], total_bytes
//
// Why: a hold costs writers its whole length, and hashing runs at half the
// speed of a kernel copy. So inside the `sales` workflow snapshot_files only
// copies; the SHA-256 and the fsync of each copy come after the release, in
// unquiesce_db. What connects the two steps is a marker file in the snapshot
// directory, `.taskexec-unsealed.json` (lease id, files, sizes, identities),
// not memory: the unquiesce may run in a plugin that has its own copy of
// every inline variable.
//
// What makes a snapshot directory complete is positive evidence written
// last: the manifest `.taskexec-snapshot.json` (every file's size and
// SHA-256), fsync'ed, and no marker. The seal writes the manifest, then
// removes the marker; snapshot_files writes the manifest itself when it
// hashes inline. A crash at any point before leaves no manifest (or both
// files), a release by the watchdog or a lost session never seals.
//
// Trust: the seal believes the marker and the copies it finds, checking
// that each is still the regular, singly linked file that was copied (same
// device and inode, same size). That guards against mistakes, not against
// someone who may write into snapshot_dir — keep it private (0700).
#pragma once

#include <filesystem>
#include <optional>
#include <stop_token>
#include <string_view>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"

namespace taskexec_examples {

/// The marker's file name, at the top of the snapshot directory.
inline constexpr std::string_view seal_marker_name = ".taskexec-unsealed.json";
/// The manifest's file name, at the top of the snapshot directory.
inline constexpr std::string_view snapshot_manifest_name = ".taskexec-snapshot.json";

/// Records that `files` ([{path, size, device, inode}], paths relative to
/// the snapshot directory `snapshot_dir` holds open) were copied under
/// `lease_id` and still need hashing and syncing. Not synced: until the
/// manifest exists the directory is incomplete anyway. Created relative to
/// the descriptor, never through a link, never replacing a file. Throws
/// std::system_error (never naming the path).
void write_seal_marker(int snapshot_dir, std::string_view lease_id, const taskexec::json& files);

/// Writes the manifest {files [{path, size, sha256}], total_bytes} into the
/// snapshot directory `snapshot_dir` holds open, as write_seal_marker, and
/// syncs it and the directories from the files' up to the snapshot
/// directory's parent. Throws std::system_error (never naming the path).
void write_snapshot_manifest(int snapshot_dir, const taskexec::json& files);

/// Hashes and fsyncs every file the marker in `snapshot_dir` lists for
/// `lease_id`, writes the manifest, then removes the marker. Returns
/// {snapshot_dir, files [{path, size, sha256}], total_bytes, seal_ms};
/// nullopt when there is nothing to seal (no snapshot_dir, no marker, or a
/// marker of another lease). A marker or file that is not what was written
/// (missing, a link, another file, another size) is a db_error
/// (precondition) at `where`, naming no path; the marker then stays. So it
/// does when `stop` is requested while hashing (db_error cancelled): the
/// seal runs after the release, so stopping it holds nothing up.
std::optional<taskexec::json> seal_snapshot(std::string_view snapshot_dir,
                                            std::string_view lease_id, const db_where& where,
                                            std::stop_token stop = {});

}  // namespace taskexec_examples
