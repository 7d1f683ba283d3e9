// examples/tasks/snapshot_files.cpp — the engine-independent copy step.
//
// snapshot_files has one implementation for every engine (an any_engine
// fallback): it copies what quiesce_db listed — `files_to_copy`, relative to
// `source_dir`, each a file or a directory copied recursively, skipping any
// file or directory whose name is in `exclude` — into `snapshot_dir`, keeping
// relative paths. Each file is hashed (SHA-256, OpenSSL libcrypto) and
// synced, and the manifest .taskexec-snapshot.json is written last: while
// copying when no lease is given, or, under a lease, after unquiesce_db has
// released the database (snapshot_seal.hpp: the hold then lasts only as long
// as the kernel's copy). Symbolic links are recreated as links; sockets and FIFOs are
// skipped and listed. A failed or cancelled copy removes what it created, so
// a directory that holds a snapshot holds a complete one.
//
// The copy walks by descriptor: source_dir and snapshot_dir are opened once,
// and every directory below them is opened from its parent without
// following a link (openat, O_NOFOLLOW), every file named relative to a
// directory held open; the record and undo() go through the same handles.
// Someone who can write in source_dir (the database's own user) and swaps a
// directory for a link while the copy runs cannot make it read anything
// outside source_dir, nor create or remove anything outside snapshot_dir:
// the copy goes on in the directory it opened, or, if the link was there
// first, fails as a precondition. A snapshot_dir inside source_dir is made
// and opened from source_dir's handle the same way.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "file_copy.hpp"
#include "payload_text.hpp"
#include "snapshot_seal.hpp"
#include "unique_fd.hpp"

namespace taskexec_examples {
namespace {

namespace fs = std::filesystem;

class SnapshotCopy {
public:
    SnapshotCopy(const SnapshotParams& p, taskexec::Context& ctx)
        : params_(p), engine_(ctx.engine()), limits_{p.max_bytes_per_s, ctx.stop_token()} {}

    taskexec::json run() {
        const auto start = std::chrono::steady_clock::now();
        try {
            validate();
            // Normal form ("./a" is "a"), so reported paths never hold "./".
            for (const std::string& entry : params_.files_to_copy)
                copy_entry(normal(fs::path(entry)));
        } catch (...) {
            undo();
            throw;
        }
        auto by_path = [](const taskexec::json& a, const taskexec::json& b) {
            return a["path"].get<std::string>() < b["path"].get<std::string>();
        };
        std::sort(files_.begin(), files_.end(), by_path);
        std::sort(marker_files_.begin(), marker_files_.end(), by_path);
        std::sort(links_.begin(), links_.end());  // strings: bytewise, like the paths
        std::sort(skipped_.begin(), skipped_.end());
        // Written last: a directory without the manifest (and without the
        // marker that promises one) is not a finished snapshot.
        try {
            if (seal_later())
                write_seal_marker(destination_fd_.get(), params_.lease_id, marker_files_);
            else
                write_snapshot_manifest(destination_fd_.get(), files_);
        } catch (const std::system_error& e) {
            undo();
            throw fail(kind_of(e.code()), "record", "cannot record the snapshot", e.code());
        } catch (const std::exception&) {  // a name JSON cannot hold (not UTF-8), say
            undo();
            throw fail(db_error_kind::precondition, "record",
                       "cannot record the snapshot: a copied name cannot be written as JSON "
                       "(not UTF-8, say)");
        }
        return {{"snapshot_dir", destination_.string()},
                {"files", files_},
                {"sealed", !seal_later()},
                {"links", links_},
                {"skipped", skipped_},
                {"total_bytes", total_bytes_},
                {"elapsed_ms",
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count()}};
    }

private:
    db_error fail(db_error_kind kind, const char* step, const std::string& message,
                  const std::error_code& ec = {}) const {
        const std::string native = ec ? "errno " + std::to_string(ec.value()) : std::string();
        return db_error(kind, {engine_, "snapshot_files", step}, native,
                        ec ? message + ": " + ec.message() : message, false);
    }

    /// Access errors are `permission`; anything else (exists, no space,
    /// I/O) is a `precondition` the operator must fix.
    static db_error_kind kind_of(const std::error_code& ec) {
        const bool access = ec == std::errc::permission_denied ||
                            ec == std::errc::operation_not_permitted ||
                            ec == std::errc::read_only_file_system;
        return access ? db_error_kind::permission : db_error_kind::precondition;
    }

    void validate() {
        const db_where where{engine_, "snapshot_files", "validate"};
        check_text("source_dir", params_.source_dir, where);
        check_text("snapshot_dir", params_.snapshot_dir, where);
        check_text("lease_id", params_.lease_id, where);
        for (const std::string& entry : params_.files_to_copy)
            check_text("files_to_copy", entry, where);
        for (const std::string& name : params_.exclude) check_text("exclude", name, where);
        if (params_.source_dir.empty())
            throw fail(db_error_kind::config, "validate", "payload field 'source_dir' is required");
        if (params_.snapshot_dir.empty())
            throw fail(db_error_kind::config, "validate",
                       "payload field 'snapshot_dir' is required");
        if (params_.files_to_copy.empty())
            throw fail(db_error_kind::config, "validate",
                       "payload field 'files_to_copy' lists nothing to copy");
        if (params_.max_bytes_per_s < 0)
            throw fail(db_error_kind::config, "validate",
                       "payload field 'max_bytes_per_s' must not be negative");
        for (const std::string& entry : params_.files_to_copy) {
            const fs::path rel(entry);
            const bool escapes = std::any_of(rel.begin(), rel.end(),
                                             [](const fs::path& part) { return part == ".."; });
            if (entry.empty() || rel.is_absolute() || escapes)
                throw fail(db_error_kind::config, "validate",
                           "payload field 'files_to_copy' must hold paths relative to "
                           "source_dir, without '..'");
        }
        std::error_code ec;
        source_ = fs::canonical(params_.source_dir, ec);
        if (ec || !fs::is_directory(source_))
            throw fail(db_error_kind::precondition, "source", "source_dir is not a directory", ec);
        // An entry names a path inside source_dir as written. A link on the
        // way to it (its last component is copied as a link) could lead
        // out of source_dir, or into snapshot_dir — a copy into itself.
        // Checked before anything is created. (A missing parent fails as a
        // missing entry when it is copied.)
        for (const std::string& entry : params_.files_to_copy) {
            const fs::path parent = normal(fs::path(entry)).parent_path();
            if (parent.empty()) continue;
            const fs::path written = normal(source_ / parent);
            const fs::path real = fs::canonical(written, ec);
            if (ec && ec != std::errc::no_such_file_or_directory &&
                ec != std::errc::not_a_directory)
                throw fail(kind_of(ec), "source", "cannot resolve an entry of files_to_copy", ec);
            if (!ec && real != written)
                throw fail(db_error_kind::config, "validate",
                           "an entry of files_to_copy passes through a link; list the link "
                           "itself, or the path it leads to");
        }
        source_fd_ = UniqueFd(::open(source_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!source_fd_) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), "source", "cannot open source_dir", error);
        }
        open_snapshot_dir();
        // Found before anything is copied: the record would fail (O_EXCL)
        // only after the whole copy.
        for (const std::string_view name : {snapshot_manifest_name, seal_marker_name}) {
            struct stat st {};
            if (::fstatat(destination_fd_.get(), name.data(), &st, AT_SYMLINK_NOFOLLOW) == 0)
                throw fail(db_error_kind::precondition, "destination",
                           "snapshot_dir already holds a snapshot (its '" + std::string(name) +
                               "'); take the copy into a new directory");
        }
        // New or empty: anything already there — a link above all, which
        // the copy would write through — could take files out of it.
        if (!list_names(destination_fd_.get(), "destination").empty())
            throw fail(db_error_kind::precondition, "destination",
                       "snapshot_dir is not empty; take the copy into a new directory");
    }

    /// Makes snapshot_dir (and missing parents) and opens it. Its path is
    /// resolved one level at a time from "/", as the kernel would — links
    /// followed, ".." the real parent, missing levels made (recorded for
    /// undo()) — until it passes through source_dir itself (same device and
    /// inode), whatever the spelling: quiesce_db reports source_dir
    /// resolved, the operator may write snapshot_dir through a link. From
    /// there on, where whoever writes source_dir could put a link, nothing
    /// is followed: the rest is opened or made from source_dir's handle and
    /// a link is refused (make_levels_at). A path that never passes through
    /// source_dir is the operator's.
    void open_snapshot_dir() {
        std::error_code ec;
        const fs::path absolute = fs::absolute(params_.snapshot_dir, ec);
        if (ec) throw fail(kind_of(ec), "destination", "cannot resolve snapshot_dir", ec);
        struct stat source_st {};
        if (::fstat(source_fd_.get(), &source_st) != 0) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), "source", "cannot open source_dir", error);
        }
        auto is_source = [&](int dir) {
            struct stat st {};
            return ::fstat(dir, &st) == 0 && st.st_dev == source_st.st_dev &&
                   st.st_ino == source_st.st_ino;
        };
        auto refuse = [&](const char* message) {
            const std::error_code error = last_error();
            return fail(
                error == std::errc::not_a_directory ? db_error_kind::precondition : kind_of(error),
                "destination", message, error);
        };
        const fs::path relative = absolute.relative_path();
        // The levels still to resolve; a link followed puts its target's in front.
        std::deque<fs::path> remaining(relative.begin(), relative.end());
        UniqueFd dir = open_path_at(AT_FDCWD, "/");
        if (!dir) throw refuse("cannot resolve snapshot_dir");
        fs::path real = "/";
        int links_followed = 0;
        while (!remaining.empty() && !is_source(dir.get())) {
            const fs::path part = remaining.front();
            remaining.pop_front();
            if (part.empty() || part == ".") continue;
            if (part == "..") {
                dir = open_path_at(dir.get(), "..");
                if (!dir) throw refuse("cannot resolve snapshot_dir");
                real = real.parent_path();
                continue;
            }
            struct stat st {};
            if (::fstatat(dir.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno != ENOENT) throw refuse("cannot resolve snapshot_dir");
                if (::mkdirat(dir.get(), part.c_str(), 0777) == 0)
                    made_above_.push_back(
                        {UniqueFd(::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0)), part.string()});
                else if (errno != EEXIST)
                    throw refuse("cannot create snapshot_dir");
                st.st_mode = S_IFDIR;  // opened below, never through a link put there since
            }
            if (S_ISLNK(st.st_mode)) {
                if (++links_followed > 40) {
                    errno = ELOOP;
                    throw refuse("cannot resolve snapshot_dir");
                }
                const fs::path target(read_link_at(dir.get(), part.string(), "destination"));
                if (target.is_absolute()) {
                    dir = open_path_at(AT_FDCWD, "/");
                    if (!dir) throw refuse("cannot resolve snapshot_dir");
                    real = "/";
                }
                const fs::path target_parts = target.relative_path();
                remaining.insert(remaining.begin(), target_parts.begin(), target_parts.end());
                continue;
            }
            UniqueFd next = open_path_at(dir.get(), part.c_str());
            if (!next) throw refuse("a level of snapshot_dir is not a directory");
            dir = std::move(next);
            real /= part;
        }
        if (is_source(dir.get())) {
            fs::path rest;
            for (const fs::path& part : remaining) rest /= part;
            const fs::path inside = normal(rest);  // no link below: ".." is lexical here
            if (inside.empty() || inside == ".")
                throw fail(db_error_kind::config, "validate",
                           "snapshot_dir must not be the source directory");
            if (*inside.begin() == "..")
                throw fail(db_error_kind::config, "validate",
                           "the path to snapshot_dir leaves source_dir with '..' after reaching "
                           "it; write the path "
                           "it means");
            destination_ = source_ / inside;
            destination_fd_ = make_levels_at(source_fd_.get(), inside, made_inside_);
        } else {
            destination_ = real;
            destination_fd_ = reopen(dir.get(), "destination");
        }
        struct stat st {};
        if (::fstat(destination_fd_.get(), &st) != 0) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), "destination", "cannot open snapshot_dir", error);
        }
        destination_id_ = {st.st_dev, st.st_ino};
    }

    /// Opens directory `name` in `parent` for walking only (O_PATH: search
    /// permission suffices, as for a path) — never through a link.
    static UniqueFd open_path_at(int parent, const char* name) {
        return UniqueFd(::openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }

    /// Makes each missing directory of `rel` (normal, no "..") below `root`,
    /// one level at a time and never through a link, recording each one
    /// made in `made` for undo(); returns the last one, open.
    UniqueFd make_levels_at(int root, const fs::path& rel, std::vector<fs::path>& made) {
        UniqueFd dir = open_path_at(root, ".");
        if (!dir) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), "destination", "cannot open a directory", error);
        }
        fs::path sub;
        for (const fs::path& part : rel) {
            if (part.empty() || part == ".") continue;
            sub /= part;
            if (::mkdirat(dir.get(), part.c_str(), 0777) == 0) {
                made.push_back(sub);
            } else if (errno != EEXIST) {
                const std::error_code error = last_error();
                throw fail(kind_of(error), "destination", "cannot create a directory", error);
            }
            UniqueFd next = open_path_at(dir.get(), part.c_str());
            if (!next) {
                const std::error_code error = last_error();
                throw fail(error == std::errc::not_a_directory ||
                                   error == std::errc::too_many_symbolic_link_levels
                               ? db_error_kind::precondition
                               : kind_of(error),
                           "destination",
                           "cannot open a directory of snapshot_dir (a link, or not a "
                           "directory, where one was expected)",
                           error);
            }
            dir = std::move(next);
        }
        return reopen(dir.get(), "destination");
    }

    static std::error_code last_error() { return {errno, std::generic_category()}; }

    /// Opens directory `name` in `parent` — never through a link.
    static UniqueFd open_dir_at(int parent, const char* name) {
        return UniqueFd(::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    }

    /// snapshot_dir itself, met inside source_dir (listed, or in a walk):
    /// never copied into itself. Asked of the directory actually opened.
    bool is_destination(int dir) const {
        struct stat st {};
        return ::fstat(dir, &st) == 0 && st.st_dev == destination_id_.first &&
               st.st_ino == destination_id_.second;
    }

    /// `p` in normal form, without a trailing separator: "./a/b/" is "a/b",
    /// "./" is ".". Entries are compared and reported in this form.
    static fs::path normal(const fs::path& p) {
        fs::path n = p.lexically_normal();
        if (!n.has_filename() && n.has_relative_path()) n = n.parent_path();
        return n;
    }

    /// The name snapshot_seal.hpp writes at the top of snapshot_dir that
    /// `rel` (normal) would take, if any. A source file of that name (a
    /// snapshot of a directory holding an earlier snapshot) would collide
    /// with the record, or — the marker's name, copied without a lease —
    /// leave a finished snapshot looking unfinished forever; deeper down
    /// they are ordinary files.
    static std::optional<std::string_view> reserved_name(const fs::path& rel) {
        if (rel.has_parent_path()) return std::nullopt;
        for (const std::string_view name : {snapshot_manifest_name, seal_marker_name})
            if (rel == fs::path(name)) return name;
        return std::nullopt;
    }

    /// Called before creating anything at `rel` in snapshot_dir.
    void refuse_reserved(const fs::path& rel) const {
        if (const auto name = reserved_name(rel))
            throw fail(db_error_kind::config, "copy",
                       "a file to copy would land on '" + std::string(*name) +
                           "' at the top of snapshot_dir, a name the snapshot keeps for "
                           "its own record; add that name to 'exclude'");
    }

    /// Under a lease, hashing and syncing wait for the release.
    bool seal_later() const { return !params_.lease_id.empty() && !params_.hash_during_hold; }

    bool excluded(const fs::path& p) const {
        const std::string name = p.filename().string();
        return std::find(params_.exclude.begin(), params_.exclude.end(), name) !=
               params_.exclude.end();
    }

    void copy_entry(const fs::path& rel) {
        if (excluded(rel)) return;
        const UniqueFd parent = open_source_dir(rel.parent_path());
        const std::string name = rel.filename().string();  // "." for source_dir itself
        struct stat st {};
        if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            const std::error_code error = last_error();
            throw fail(db_error_kind::precondition, "source",
                       "an entry of files_to_copy does not exist", error);
        }
        if (S_ISDIR(st.st_mode)) {
            const UniqueFd from = open_source_dir_at(parent.get(), name);
            if (is_destination(from.get())) return;
            refuse_reserved(rel);
            const UniqueFd to = open_destination_dir(rel);
            return copy_tree(from.get(), to.get(), rel);
        }
        if (skip_special(rel, st.st_mode)) return;
        refuse_reserved(rel);
        const UniqueFd to = open_destination_dir(rel.parent_path());
        copy_one(parent.get(), to.get(), name, rel, st.st_mode);
    }

    /// Copies what directory `from` holds into directory `to` (both open;
    /// `rel` is their path below source_dir and snapshot_dir).
    void copy_tree(int from, int to, const fs::path& rel) {
        for (const std::string& name : list_names(from, "source")) {
            const fs::path sub = normal(rel / name);
            if (excluded(sub)) continue;
            struct stat st {};
            if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                const std::error_code error = last_error();
                throw fail(db_error_kind::precondition, "source", "cannot list a directory", error);
            }
            if (S_ISDIR(st.st_mode)) {
                const UniqueFd sub_from = open_source_dir_at(from, name);
                if (is_destination(sub_from.get())) continue;
                refuse_reserved(sub);
                const UniqueFd sub_to = make_directory_at(to, name, sub);
                copy_tree(sub_from.get(), sub_to.get(), sub);
            } else if (!skip_special(sub, st.st_mode)) {
                refuse_reserved(sub);
                copy_one(from, to, name, sub, st.st_mode);
            }
        }
    }

    /// The names directory `dir` holds (not "." and ".."), read through a
    /// descriptor of its own so `dir` stays open and unmoved. Errors are
    /// `step`'s.
    std::vector<std::string> list_names(int dir, const char* step) const {
        struct CloseDir {
            void operator()(DIR* d) const noexcept { ::closedir(d); }
        };
        UniqueFd own(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        std::unique_ptr<DIR, CloseDir> stream(own ? ::fdopendir(own.get()) : nullptr);
        if (!stream) {
            const std::error_code error = last_error();
            throw fail(db_error_kind::precondition, step, "cannot list a directory", error);
        }
        (void)own.release();  // the stream owns it now
        std::vector<std::string> names;
        for (;;) {
            errno = 0;
            const dirent* entry = ::readdir(stream.get());
            if (!entry) break;
            const std::string_view name = entry->d_name;
            if (name != "." && name != "..") names.emplace_back(name);
        }
        if (errno != 0) {
            const std::error_code error = last_error();
            throw fail(db_error_kind::precondition, step, "cannot list a directory", error);
        }
        return names;
    }

    /// A new descriptor of the directory `dir` holds (the start of a walk).
    UniqueFd reopen(int dir, const char* step) const {
        UniqueFd again = open_dir_at(dir, ".");
        if (!again) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), step, "cannot open a directory", error);
        }
        return again;
    }

    /// Directory `rel` (normal; "" or "." is source_dir), opened one
    /// component at a time from source_dir.
    UniqueFd open_source_dir(const fs::path& rel) const {
        UniqueFd dir = reopen(source_fd_.get(), "source");
        for (const fs::path& part : rel) {
            if (part.empty() || part == ".") continue;
            dir = open_source_dir_at(dir.get(), part.string());
        }
        return dir;
    }

    /// Directory `name` in the source directory `parent`. A link where a
    /// directory was (validate() refused links on the way, so one found
    /// now was swapped in since) fails the copy; nothing is read through it.
    UniqueFd open_source_dir_at(int parent, const std::string& name) const {
        UniqueFd dir = open_dir_at(parent, name.c_str());
        if (dir) return dir;
        const std::error_code error = last_error();
        // O_DIRECTORY|O_NOFOLLOW on a link fails with ENOTDIR (ELOOP on
        // older kernels): ask what is there.
        struct stat st {};
        if ((error == std::errc::not_a_directory ||
             error == std::errc::too_many_symbolic_link_levels) &&
            ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
            throw fail(db_error_kind::precondition, "source",
                       "a directory in source_dir was replaced by a link while it was copied; "
                       "nothing was read through it",
                       error);
        if (error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory)
            throw fail(db_error_kind::precondition, "source",
                       "an entry of files_to_copy does not exist", error);
        throw fail(kind_of(error), "source", "cannot open a directory in source_dir", error);
    }

    /// Directory `rel` of snapshot_dir, and any missing parents, made and
    /// opened one component at a time from snapshot_dir.
    UniqueFd open_destination_dir(const fs::path& rel) {
        UniqueFd dir = reopen(destination_fd_.get(), "destination");
        fs::path sub;
        for (const fs::path& part : rel) {
            if (part.empty() || part == ".") continue;
            sub /= part;
            refuse_reserved(sub);  // a directory named like the record, at the top
            dir = make_directory_at(dir.get(), part.string(), sub);
        }
        return dir;
    }

    /// Makes directory `name` in `parent` unless it is there (recorded for
    /// undo() when made; `rel` is its path below snapshot_dir) and opens it.
    UniqueFd make_directory_at(int parent, const std::string& name, const fs::path& rel) {
        if (::mkdirat(parent, name.c_str(), 0777) == 0) {
            created_.push_back({rel, true});
        } else if (errno != EEXIST) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), "destination", "cannot create a directory", error);
        }
        UniqueFd dir = open_dir_at(parent, name.c_str());
        if (!dir) {
            const std::error_code error = last_error();
            throw fail(kind_of(error), "destination", "cannot open a directory in snapshot_dir",
                       error);
        }
        return dir;
    }

    /// Sockets, FIFOs and devices are listed as skipped; nothing is created
    /// for them.
    bool skip_special(const fs::path& rel, mode_t mode) {
        if (S_ISREG(mode) || S_ISLNK(mode)) return false;
        skipped_.push_back(rel.generic_string());
        return true;
    }

    /// The target of link `name` in `dir`.
    std::string read_link_at(int dir, const std::string& name, const char* step = "copy") const {
        std::string target(256, '\0');
        for (;;) {
            const ssize_t size = ::readlinkat(dir, name.c_str(), target.data(), target.size());
            if (size < 0) {
                const std::error_code error = last_error();
                throw fail(kind_of(error), step, "cannot read a link", error);
            }
            if (static_cast<std::size_t>(size) < target.size()) {
                target.resize(static_cast<std::size_t>(size));
                return target;
            }
            target.resize(2 * target.size());  // maybe cut short: read again
        }
    }

    /// Copies the file or link `name` of source directory `from` into
    /// snapshot directory `to`; `rel` is its path below both.
    void copy_one(int from, int to, const std::string& name, const fs::path& rel, mode_t mode) {
        if (S_ISLNK(mode)) {
            const std::string link = read_link_at(from, name);
            if (::symlinkat(link.c_str(), to, name.c_str()) != 0) {
                const std::error_code error = last_error();
                throw fail(kind_of(error), "copy", "cannot recreate a link", error);
            }
            created_.push_back({rel, false});
            links_.push_back(rel.generic_string());
            return;
        }
        CopiedFile copied;
        try {
            copied = seal_later() ? copy_file_fast({from, name}, {to, name}, limits_)
                                  : copy_file_hashed({from, name}, {to, name}, limits_);
        } catch (const copy_stopped&) {
            throw fail(db_error_kind::cancelled, "copy", "stopped by the run (cancel or deadline)");
        } catch (const std::system_error& e) {
            throw fail(kind_of(e.code()), "copy", "cannot copy a file", e.code());
        }
        created_.push_back({rel, false});
        total_bytes_ += copied.size;
        taskexec::json file = {{"path", rel.generic_string()}, {"size", copied.size}};
        if (seal_later()) {
            marker_files_.push_back({{"path", rel.generic_string()},
                                     {"size", copied.size},
                                     {"device", copied.device},
                                     {"inode", copied.inode}});
        } else {
            file["sha256"] = copied.sha256;
        }
        files_.push_back(std::move(file));
    }

    /// Removes what this copy created, newest first: inside snapshot_dir
    /// through its descriptor, then the levels of snapshot_dir made inside
    /// source_dir through source_dir's (never through a link: if a directory
    /// on the way was swapped, what is below it stays), then the levels
    /// open_snapshot_dir made on the way, each from the parent it was made
    /// in (rmdir: only an empty directory, nothing followed).
    void undo() noexcept {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it)
            remove_below(destination_fd_.get(), it->rel, it->directory);
        created_.clear();
        destination_fd_ = UniqueFd();
        for (auto it = made_inside_.rbegin(); it != made_inside_.rend(); ++it)
            remove_below(source_fd_.get(), *it, true);
        made_inside_.clear();
        for (auto it = made_above_.rbegin(); it != made_above_.rend(); ++it)
            if (it->parent) ::unlinkat(it->parent.get(), it->name.c_str(), AT_REMOVEDIR);
        made_above_.clear();
    }

    /// Removes `rel` below the directory `root` holds, reaching its parent
    /// one component at a time without following a link.
    static void remove_below(int root, const fs::path& rel, bool directory) noexcept {
        if (root < 0) return;
        try {
            UniqueFd held;
            int dir = root;
            for (const fs::path& part : rel.parent_path()) {
                held = open_path_at(dir, part.c_str());
                if (!held) return;  // swapped or gone: leave what is below
                dir = held.get();
            }
            ::unlinkat(dir, rel.filename().c_str(), directory ? AT_REMOVEDIR : 0);
        } catch (...) {  // a path too long to allocate: leave it
        }
    }

    const SnapshotParams& params_;
    std::string engine_;
    CopyLimits limits_;
    fs::path source_, destination_;
    UniqueFd source_fd_, destination_fd_;       ///< opened by validate()
    std::pair<dev_t, ino_t> destination_id_{};  ///< snapshot_dir's device and inode
    /// What the copy made below snapshot_dir, oldest first, for undo().
    struct Created {
        fs::path rel;  ///< below snapshot_dir
        bool directory;
    };
    std::vector<Created> created_;
    std::vector<fs::path> made_inside_;  ///< levels of snapshot_dir made below source_dir
    /// Levels open_snapshot_dir made on its way to source_dir or
    /// snapshot_dir, oldest first: the directory each was made in, and its name.
    struct MadeLevel {
        UniqueFd parent;
        std::string name;
    };
    std::vector<MadeLevel> made_above_;
    taskexec::json files_ = taskexec::json::array();
    taskexec::json marker_files_ =
        taskexec::json::array();  ///< files_ with identities, for the seal
    taskexec::json links_ = taskexec::json::array();
    taskexec::json skipped_ = taskexec::json::array();
    std::uint64_t total_bytes_ = 0;
};

struct AnySnapshotFiles : SnapshotFiles, taskexec::any_engine {
    taskexec::json execute(const SnapshotParams& p, taskexec::Context& ctx) {
        return SnapshotCopy(p, ctx).run();
    }
};
TASKEXEC_ENGINE(AnySnapshotFiles);

}  // namespace
}  // namespace taskexec_examples
