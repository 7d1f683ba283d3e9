// taskexec/detail/plugin_trust.hpp — may this file be loaded as code?
//
// Loading a plugin runs its code with the host's privileges, so a plugin
// file — or the directory holding it, where it could be swapped — that
// another user can write is refused: owned by root or by the user running
// the host, and not writable by group or others. A directory with the sticky
// bit (like /tmp) is accepted, since others cannot replace files in it.
// Callers opt out with PluginOptions::allow_untrusted.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

namespace taskexec {
inline namespace v2 {
namespace detail {

/// Why `path` is not trusted, or nothing if it is.
inline std::optional<std::string> untrusted_reason(const std::filesystem::path& path,
                                                   bool is_directory) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        return "cannot be inspected (" + std::string(std::strerror(errno)) + ")";
    const uid_t me = ::geteuid();
    if (st.st_uid != 0 && st.st_uid != me)
        return "is owned by user id " + std::to_string(st.st_uid) +
               ", neither root nor the user running this program";
    const bool others_can_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (others_can_write && !(is_directory && (st.st_mode & S_ISVTX) != 0))
        return "is writable by users other than its owner (mode " +
               std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
               std::to_string(st.st_mode & 7) + ")";
    return std::nullopt;
}

/// Why the plugin file or its directory is not trusted, or nothing.
inline std::optional<std::string> untrusted_plugin(const std::filesystem::path& canonical_file) {
    if (auto why = untrusted_reason(canonical_file, false)) return "the file " + *why;
    if (auto why = untrusted_reason(canonical_file.parent_path(), true))
        return "its directory " + canonical_file.parent_path().string() + " " + *why;
    return std::nullopt;
}

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
