// examples/tasks/file_copy.hpp — copy one file and hash it in the same pass.
//
//     CopyLimits limits{.max_bytes_per_s = 50 << 20, .stop = ctx.stop_token()};
//     CopiedFile c = copy_file_hashed(src, dst, limits);   // c.sha256, c.size
//
// The SHA-256 is computed by OpenSSL's libcrypto (EVP interface) over the
// bytes as they are written, so the hash describes the copy exactly, with one
// read of the source. The destination must not exist: a snapshot never
// overwrites a file (and so can never be pointed at the live files).
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <stop_token>
#include <string>

namespace taskexec_examples {

/// Bounds on one copy.
struct CopyLimits {
    std::int64_t max_bytes_per_s = 0;  ///< throttle (0: unlimited), spares the live server's I/O
    std::stop_token stop;              ///< checked between chunks and while throttled
};

/// What was copied.
struct CopiedFile {
    std::uint64_t size = 0;  ///< bytes copied
    std::string sha256;      ///< lowercase hex of the copied bytes
};

/// Copies `from` to the new file `to` (created with `from`'s permission
/// bits, fsync'ed before return). Throws std::system_error naming the
/// operation (never the path: paths come from payloads), or
/// copy_stopped when `limits.stop` is requested; a partial copy is removed.
CopiedFile copy_file_hashed(const std::filesystem::path& from, const std::filesystem::path& to,
                            const CopyLimits& limits);

/// SHA-256 of a file's contents (lowercase hex), for verification.
std::string sha256_file(const std::filesystem::path& file);

/// Thrown by copy_file_hashed when its stop token is requested.
struct copy_stopped : std::runtime_error {
    copy_stopped()
        : std::runtime_error("snapshot_files stopped: the run was cancelled or timed out") {}
};

}  // namespace taskexec_examples
