// examples/tasks/snapshot_seal.cpp — see snapshot_seal.hpp.
#include "snapshot_seal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include "file_copy.hpp"

namespace taskexec_examples {
namespace {

namespace fs = std::filesystem;

/// A marker lists at most what one copy can produce; anything larger is not
/// ours (and is not read into memory).
constexpr std::uintmax_t max_marker_bytes = 64 << 20;

/// fsync of a directory, so that the names of the files in it are durable.
void sync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot open a directory");
    const int rc = ::fsync(fd);
    const int saved = errno;
    ::close(fd);
    if (rc != 0) throw std::system_error(saved, std::generic_category(), "cannot sync a directory");
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

/// A marker entry as this program writes it: {"path": string, "size": unsigned}.
bool well_formed(const taskexec::json& entry) {
    return entry.is_object() && entry.contains("path") && entry["path"].is_string() &&
           entry.contains("size") && entry["size"].is_number_unsigned();
}

}  // namespace

void write_seal_marker(const fs::path& snapshot_dir, std::string_view lease_id,
                       const taskexec::json& files) {
    const fs::path marker = snapshot_dir / seal_marker_name;
    const std::string text =
        taskexec::json{{"lease_id", lease_id}, {"files", files}}.dump();
    // O_EXCL: a copied file of that name, or a second copy into the same
    // directory under one lease, must not be silently replaced.
    const int fd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "cannot create the seal marker");
    std::size_t written = 0;
    while (written < text.size()) {
        const ssize_t put = ::write(fd, text.data() + written, text.size() - written);
        if (put < 0 && errno == EINTR) continue;
        if (put < 0) {
            const int saved = errno;
            ::close(fd);
            std::error_code ignored;
            fs::remove(marker, ignored);
            throw std::system_error(saved, std::generic_category(), "cannot write the seal marker");
        }
        written += static_cast<std::size_t>(put);
    }
    if (::close(fd) != 0)
        throw std::system_error(errno, std::generic_category(), "cannot close the seal marker");
}

std::optional<taskexec::json> seal_snapshot(std::string_view snapshot_dir,
                                            std::string_view lease_id, const db_where& where) {
    const auto start = std::chrono::steady_clock::now();
    if (snapshot_dir.empty() || lease_id.empty() ||
        snapshot_dir.find('\0') != std::string_view::npos)
        return std::nullopt;
    const fs::path dir(snapshot_dir);
    const fs::path marker = dir / seal_marker_name;
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(marker, ec);
    if (ec || !fs::is_regular_file(status)) return std::nullopt;

    auto fail = [&](const std::string& message) {
        return db_error(db_error_kind::precondition, where, "",
                        message + "; the snapshot is not sealed (its " +
                            std::string(seal_marker_name) + " stays)",
                        false);
    };
    const std::uintmax_t marker_size = fs::file_size(marker, ec);
    if (ec || marker_size > max_marker_bytes) throw fail("the seal marker cannot be read");
    std::ifstream in(marker, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const taskexec::json record = taskexec::json::parse(text.str(), nullptr, false);
    if (!in || record.is_discarded() || !record.is_object() || !record.contains("files") ||
        !record["files"].is_array() || !record.contains("lease_id") ||
        !record["lease_id"].is_string())
        throw fail("the seal marker is not one this program wrote");
    if (record["lease_id"].get<std::string>() != lease_id) return std::nullopt;

    taskexec::json files = taskexec::json::array();
    std::uint64_t total = 0;
    for (const taskexec::json& entry : record["files"]) {
        if (!well_formed(entry)) throw fail("the seal marker is not one this program wrote");
        const std::string rel = entry["path"].get<std::string>();
        const std::uint64_t size = entry["size"].get<std::uint64_t>();
        if (!stays_inside(dir, rel)) throw fail("the seal marker lists a path outside the snapshot");
        CopiedFile sealed;
        try {
            sealed = seal_file(dir / rel);
        } catch (const std::system_error& e) {
            throw db_error(db_error_kind::precondition, where,
                           "errno " + std::to_string(e.code().value()),
                           std::string("cannot seal a snapshot file: ") + e.what() +
                               "; the snapshot is not sealed",
                           false);
        }
        if (sealed.size != size)
            throw fail("a snapshot file changed size after the copy");
        total += sealed.size;
        files.push_back({{"path", rel}, {"size", sealed.size}, {"sha256", sealed.sha256}});
    }
    try {
        // The copies' directory entries, then the marker's removal: once the
        // marker is gone, everything it listed is on disk.
        std::vector<fs::path> dirs{dir};
        for (const taskexec::json& f : files) {
            const fs::path parent = (dir / f["path"].get<std::string>()).parent_path();
            if (std::find(dirs.begin(), dirs.end(), parent) == dirs.end()) dirs.push_back(parent);
        }
        for (const fs::path& d : dirs) sync_directory(d);
        fs::remove(marker);
        sync_directory(dir);
    } catch (const std::system_error& e) {
        throw db_error(db_error_kind::precondition, where,
                       "errno " + std::to_string(e.code().value()),
                       std::string("cannot complete the seal: ") + e.code().message(), false);
    }
    return taskexec::json{
        {"snapshot_dir", dir.string()},
        {"files", std::move(files)},
        {"total_bytes", total},
        {"seal_ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                              start)
                        .count()}};
}

}  // namespace taskexec_examples
