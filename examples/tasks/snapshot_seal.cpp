// examples/tasks/snapshot_seal.cpp — see snapshot_seal.hpp.
#include "snapshot_seal.hpp"
#include "unique_fd.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <vector>

#include "file_copy.hpp"

namespace taskexec_examples {
namespace {

namespace fs = std::filesystem;

/// A marker lists what one copy produced; anything larger is not ours and
/// is not read into memory.
constexpr std::size_t max_marker_bytes = 8 << 20;

[[noreturn]] void throw_system_error(int error, const char* what) {
    throw std::system_error(error, std::generic_category(), what);
}

/// Creates `name` in the directory `dir` holds open (never replacing
/// anything, never through a link) holding `text`; fsyncs it if asked.
void write_new_file(int dir, const char* name, const std::string& text, bool sync,
                    const char* what) {
    const int fd = ::openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throw_system_error(errno, what);
    int failure = 0;
    for (std::size_t written = 0; written < text.size() && failure == 0;) {
        const ssize_t put = ::write(fd, text.data() + written, text.size() - written);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0)
            failure = errno;
        else
            written += static_cast<std::size_t>(put);
    }
    if (failure == 0 && sync && ::fsync(fd) != 0) failure = errno;
    if (::close(fd) != 0 && failure == 0) failure = errno;
    if (failure != 0) {
        ::unlinkat(dir, name, 0);
        throw_system_error(failure, what);
    }
}

/// Reads a marker: a regular file (no link, no FIFO) of bounded size.
/// nullopt if there is none.
std::optional<std::string> read_marker(const fs::path& file, const db_where& where,
                                       const std::string& not_ours) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0 && errno == ENOENT) return std::nullopt;
    auto refuse = [&] { return db_error(db_error_kind::precondition, where, "", not_ours, false); };
    if (fd < 0) throw refuse();  // a link (ELOOP), no permission, ...
    std::string text;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              static_cast<std::uint64_t>(st.st_size) <= max_marker_bytes;
    char buffer[65536];
    while (ok) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            ok = got == 0;
            break;
        }
        text.append(buffer, static_cast<std::size_t>(got));
        ok = text.size() <= max_marker_bytes;  // it may have grown since fstat
    }
    ::close(fd);
    if (!ok) throw refuse();
    return text;
}

/// fsync of directory `rel` of `dir` ("." is `dir`, ".." its parent), so
/// that the names in it are durable. Reached one component at a time,
/// never through a link.
void sync_directory(int dir, const fs::path& rel) {
    int at = dir;
    UniqueFd held;
    for (const fs::path& part : rel) {
        UniqueFd next(::openat(at, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) throw_system_error(errno, "cannot open a directory");
        held = std::move(next);
        at = held.get();
    }
    if (::fsync(at) != 0) throw_system_error(errno, "cannot sync a directory");
}

/// Every directory from the files' up to the snapshot directory, deepest
/// first, then the snapshot directory (".") and its parent (".."), which
/// holds its name — relative to the snapshot directory.
std::vector<fs::path> directories_to_sync(const taskexec::json& files) {
    std::vector<fs::path> dirs;
    for (const taskexec::json& f : files) {
        for (fs::path at = fs::path(f["path"].get<std::string>()).parent_path(); !at.empty();
             at = at.parent_path())
            if (std::find(dirs.begin(), dirs.end(), at) == dirs.end()) dirs.push_back(at);
    }
    std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
        return std::distance(a.begin(), a.end()) > std::distance(b.begin(), b.end());
    });
    dirs.emplace_back(".");
    dirs.emplace_back("..");
    return dirs;
}

/// A marker entry's path: relative, no "..", and no directory on the way
/// that is a link (snapshot_files recreates links, and one may point out of
/// the snapshot; the file itself is opened with O_NOFOLLOW).
bool stays_inside(const fs::path& dir, const std::string& text) {
    const fs::path rel(text);
    if (text.empty() || text.find('\0') != std::string::npos || !rel.is_relative() ||
        std::any_of(rel.begin(), rel.end(), [](const fs::path& part) { return part == ".."; }))
        return false;
    fs::path at = dir;
    for (const fs::path& part : rel.parent_path()) {
        at /= part;
        std::error_code ec;
        if (!fs::is_directory(fs::symlink_status(at, ec))) return false;
    }
    return true;
}

/// A marker entry as snapshot_files writes it.
bool well_formed(const taskexec::json& entry) {
    auto unsigned_field = [&](const char* key) {
        return entry.contains(key) && entry[key].is_number_unsigned();
    };
    return entry.is_object() && entry.contains("path") && entry["path"].is_string() &&
           unsigned_field("size") && unsigned_field("device") && unsigned_field("inode");
}

}  // namespace

void write_seal_marker(int snapshot_dir, std::string_view lease_id, const taskexec::json& files) {
    // O_EXCL: a copied file of that name, or a second copy into the same
    // directory under one lease, must not be silently replaced.
    write_new_file(snapshot_dir, seal_marker_name.data(),
                   taskexec::json{{"lease_id", lease_id}, {"files", files}}.dump(), false,
                   "cannot create the seal marker");
}

void write_snapshot_manifest(int snapshot_dir, const taskexec::json& files) {
    std::uint64_t total = 0;
    for (const taskexec::json& f : files) total += f["size"].get<std::uint64_t>();
    write_new_file(snapshot_dir, snapshot_manifest_name.data(),
                   taskexec::json{{"files", files}, {"total_bytes", total}}.dump(2) + "\n", true,
                   "cannot create the snapshot manifest");
    try {
        for (const fs::path& d : directories_to_sync(files)) sync_directory(snapshot_dir, d);
    } catch (...) {
        // Not durable, so not finished: no manifest (ours: made O_EXCL above).
        ::unlinkat(snapshot_dir, snapshot_manifest_name.data(), 0);
        throw;
    }
}

std::optional<taskexec::json> seal_snapshot(std::string_view snapshot_dir,
                                            std::string_view lease_id, const db_where& where,
                                            std::stop_token stop) {
    const auto start = std::chrono::steady_clock::now();
    if (snapshot_dir.empty() || lease_id.empty() ||
        snapshot_dir.find('\0') != std::string_view::npos)
        return std::nullopt;
    const fs::path dir(snapshot_dir);
    const fs::path marker = dir / seal_marker_name;
    auto fail = [&](const std::string& message) {
        return db_error(db_error_kind::precondition, where, "",
                        message + "; the snapshot is not sealed (its " +
                            std::string(seal_marker_name) + " stays)",
                        false);
    };
    const std::string not_ours = "the seal marker is not one this program wrote";
    const std::optional<std::string> text = read_marker(marker, where, not_ours + "; not sealed");
    if (!text) return std::nullopt;
    const taskexec::json record = taskexec::json::parse(*text, nullptr, false);
    if (record.is_discarded() || !record.is_object() || !record.contains("files") ||
        !record["files"].is_array() || !record.contains("lease_id") ||
        !record["lease_id"].is_string())
        throw fail(not_ours);
    if (record["lease_id"].get<std::string>() != lease_id) return std::nullopt;

    taskexec::json files = taskexec::json::array();
    std::uint64_t total = 0;
    for (const taskexec::json& entry : record["files"]) {
        if (!well_formed(entry)) throw fail(not_ours);
        const std::string rel = entry["path"].get<std::string>();
        if (!stays_inside(dir, rel))
            throw fail("the seal marker lists a path outside the snapshot");
        CopiedFile sealed;
        try {
            sealed = seal_file(dir / rel, stop);
        } catch (const copy_stopped&) {
            throw db_error(db_error_kind::cancelled, where, "",
                           "the seal was stopped by the run (cancel or deadline) after the "
                           "release; the snapshot is not sealed (its " +
                               std::string(seal_marker_name) + " stays)",
                           false);
        } catch (const std::system_error& e) {
            throw db_error(db_error_kind::precondition, where,
                           "errno " + std::to_string(e.code().value()),
                           std::string("cannot seal a snapshot file: ") + e.what() +
                               "; the snapshot is not sealed",
                           false);
        }
        if (sealed.device != entry["device"].get<std::uint64_t>() ||
            sealed.inode != entry["inode"].get<std::uint64_t>() || sealed.links != 1)
            throw fail("a snapshot file was replaced or linked after the copy");
        if (sealed.size != entry["size"].get<std::uint64_t>())
            throw fail("a snapshot file changed size after the copy");
        total += sealed.size;
        files.push_back({{"path", rel}, {"size", sealed.size}, {"sha256", sealed.sha256}});
    }
    try {
        // The manifest (synced, with every directory), then the marker's
        // removal: once the marker is gone, the manifest and everything it
        // lists are on disk.
        const UniqueFd held(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!held) throw_system_error(errno, "cannot open the snapshot directory");
        write_snapshot_manifest(held.get(), files);
        if (::unlinkat(held.get(), seal_marker_name.data(), 0) != 0)
            throw_system_error(errno, "cannot remove the seal marker");
        sync_directory(held.get(), ".");
    } catch (const std::system_error& e) {
        throw db_error(db_error_kind::precondition, where,
                       "errno " + std::to_string(e.code().value()),
                       std::string("cannot complete the seal: ") + e.code().message(), false);
    }
    return taskexec::json{{"snapshot_dir", dir.string()},
                          {"files", std::move(files)},
                          {"total_bytes", total},
                          {"seal_ms", std::chrono::duration<double, std::milli>(
                                          std::chrono::steady_clock::now() - start)
                                          .count()}};
}

}  // namespace taskexec_examples
