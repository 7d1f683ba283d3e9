// examples/tasks/file_copy.hpp — copy one file, hashed in the same pass or
// sealed (hashed and synced) later.
//
//     CopyLimits limits{.max_bytes_per_s = 50 << 20, .stop = ctx.stop_token()};
//     CopiedFile c = copy_file_hashed(src, dst, limits);   // c.sha256, c.size
//
//     CopiedFile c = copy_file_fast(src, dst, limits);     // while the database is held
//     CopiedFile s = seal_file(dst);                       // after it is released
//
// The SHA-256 is computed by OpenSSL's libcrypto (EVP interface). The
// destination must not exist: a snapshot never overwrites a file (and so can
// never be pointed at the live files).
//
// Why two ways: SHA-256 runs at about 1.1 GB/s here and a kernel copy at
// over 2 GB/s, so hashing while the database is held would keep writers
// waiting more than twice as long as the copy itself. copy_file_fast does only what
// needs the hold; seal_file hashes and syncs the copy afterwards (the copy
// does not change in between, so its hash is the hash of what was copied).
#pragma once

#include <fcntl.h>

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>

namespace taskexec_examples {

/// A file named relative to an open directory, as openat() takes it. The
/// snapshot walk holds each directory open and names the files inside it,
/// so a directory swapped for a link after it was opened cannot redirect a
/// copy. A path converts as open() would take it (relative to the working
/// directory, or absolute).
struct FileAt {
    FileAt(int directory, std::string file_name) : dir(directory), name(std::move(file_name)) {}
    FileAt(const std::filesystem::path& path) : name(path.string()) {}  // NOLINT: implicit
    int dir = AT_FDCWD;
    std::string name;
};

/// Bounds on one copy.
struct CopyLimits {
    std::int64_t max_bytes_per_s = 0;  ///< throttle (0: unlimited), spares the live server's I/O
    std::stop_token stop;              ///< checked between chunks and while throttled
};

/// What was copied.
struct CopiedFile {
    std::uint64_t size = 0;  ///< bytes copied
    std::string sha256;      ///< lowercase hex of the copied bytes (empty until sealed)
    std::uint64_t device = 0,
                  inode = 0;  ///< the copy's identity, so a seal can tell it is the same file
    std::uint64_t links = 0;  ///< hard links to the copy (1 for a fresh copy)
    bool regular = true;      ///< a regular file (not a FIFO, device, ...)
};

/// Copies the regular file `from` to the new file `to` (created with
/// `from`'s permission bits, fsync'ed before return). Neither end is opened
/// through a link at its last component, and `from` never blocks the open
/// (a FIFO put in its place fails, as does anything but a regular file).
/// Throws std::system_error naming the operation (never the path: paths
/// come from payloads), or copy_stopped when `limits.stop` is requested; a
/// partial copy is removed.
CopiedFile copy_file_hashed(const FileAt& from, const FileAt& to, const CopyLimits& limits);

/// Copies `from` to the new file `to` in the kernel (copy_file_range; a
/// read/write loop where the file systems do not support it), neither hashed
/// nor synced: seal_file() completes it. Returns size and identity (no
/// sha256). Opening, errors, stop and clean-up as copy_file_hashed.
CopiedFile copy_file_fast(const FileAt& from, const FileAt& to, const CopyLimits& limits);

/// Completes a copy_file_fast copy: fsyncs `file` and returns its size,
/// SHA-256 and identity. Opens only a regular file, never through a link at
/// the last component (O_NOFOLLOW) nor blocking on a FIFO. Throws
/// std::system_error naming the operation, never the path, or copy_stopped
/// when `stop` is requested (checked before each chunk of a MiB; the fsync
/// itself is not interrupted).
CopiedFile seal_file(const std::filesystem::path& file, std::stop_token stop = {});

/// SHA-256 of a file's contents (lowercase hex), for verification.
std::string sha256_file(const std::filesystem::path& file);

/// Thrown by copy_file_hashed, copy_file_fast and seal_file when their stop
/// token is requested.
struct copy_stopped : std::runtime_error {
    copy_stopped()
        : std::runtime_error("snapshot_files stopped: the run was cancelled or timed out") {}
};

}  // namespace taskexec_examples
