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
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <taskexec/taskexec.hpp>

#include "db_error.hpp"
#include "db_tasks.hpp"
#include "file_copy.hpp"
#include "payload_text.hpp"
#include "snapshot_seal.hpp"

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
                write_seal_marker(destination_, params_.lease_id, marker_files_);
            else
                write_snapshot_manifest(destination_, files_);
        } catch (const std::system_error& e) {
            undo();
            throw fail(kind_of(e.code()), "record", "cannot record the snapshot", e.code());
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
        create_snapshot_dir();
        destination_ = fs::canonical(params_.snapshot_dir, ec);
        if (ec) throw fail(kind_of(ec), "destination", "cannot resolve snapshot_dir", ec);
        if (destination_ == source_)
            throw fail(db_error_kind::config, "validate",
                       "snapshot_dir must not be the source directory");
        // Found before anything is copied: the record would fail (O_EXCL)
        // only after the whole copy.
        for (const std::string_view name : {snapshot_manifest_name, seal_marker_name}) {
            if (fs::exists(fs::symlink_status(destination_ / name, ec)))
                throw fail(db_error_kind::precondition, "destination",
                           "snapshot_dir already holds a snapshot (its '" + std::string(name) +
                               "'); take the copy into a new directory");
        }
        // New or empty: anything already there — a link above all, which
        // the copy would write through — could take files out of it.
        if (!fs::is_empty(destination_, ec) || ec)
            throw fail(db_error_kind::precondition, "destination",
                       "snapshot_dir is not empty; take the copy into a new directory", ec);
    }

    /// Creates snapshot_dir and any missing parents, each recorded, so a
    /// failed copy removes them too.
    void create_snapshot_dir() {
        std::error_code ec;
        const fs::path dir = fs::absolute(params_.snapshot_dir, ec);
        if (ec) throw fail(kind_of(ec), "destination", "cannot create snapshot_dir", ec);
        make_levels(dir.root_path(), dir.relative_path(), "cannot create snapshot_dir");
    }

    /// Creates each missing directory on the way from `level` down `rel`,
    /// recording each one it made for undo().
    void make_levels(fs::path level, const fs::path& rel, const char* message) {
        for (const fs::path& part : rel) {
            if (part.empty() || part == ".") continue;
            level /= part;
            std::error_code ec;
            if (fs::create_directory(level, ec)) created_.push_back(level);
            if (ec) throw fail(kind_of(ec), "destination", message, ec);
        }
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
        // Never copy a snapshot into itself (snapshot_dir inside source_dir,
        // listed itself or met in a directory walk).
        if (excluded(rel) || normal(source_ / rel) == destination_) return;
        std::error_code ec;
        const fs::file_status st = fs::symlink_status(source_ / rel, ec);
        if (ec || !fs::exists(st))
            throw fail(db_error_kind::precondition, "source",
                       "an entry of files_to_copy does not exist", ec);
        if (!fs::is_directory(st)) return copy_one(rel, st);
        make_directory(rel);
        const fs::path base = source_ / rel;
        for (auto it = fs::recursive_directory_iterator(base, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            const fs::path sub = normal(rel / it->path().lexically_relative(base));
            if (excluded(sub) || normal(it->path()) == destination_) {
                if (it->is_directory(ec)) it.disable_recursion_pending();
                continue;
            }
            const fs::file_status sub_st = it->symlink_status(ec);
            if (ec) break;
            if (fs::is_directory(sub_st))
                make_directory(sub);
            else
                copy_one(sub, sub_st);
        }
        if (ec) throw fail(db_error_kind::precondition, "source", "cannot list a directory", ec);
    }

    /// Creates `rel` in snapshot_dir, and any missing parents.
    void make_directory(const fs::path& rel) {
        refuse_reserved(rel);
        make_levels(destination_, rel, "cannot create a directory");
    }

    void copy_one(const fs::path& rel, const fs::file_status& st) {
        if (!fs::is_symlink(st) && !fs::is_regular_file(st)) {
            skipped_.push_back(rel.generic_string());  // nothing is created for it
            return;
        }
        refuse_reserved(rel);
        make_directory(rel.parent_path());
        const fs::path target = destination_ / rel;
        std::error_code ec;
        if (fs::is_symlink(st)) {
            fs::create_symlink(fs::read_symlink(source_ / rel, ec), target, ec);
            if (ec) throw fail(kind_of(ec), "copy", "cannot recreate a link", ec);
            created_.push_back(target);
            links_.push_back(rel.generic_string());
            return;
        }
        CopiedFile copied;
        try {
            copied = seal_later() ? copy_file_fast(source_ / rel, target, limits_)
                                  : copy_file_hashed(source_ / rel, target, limits_);
        } catch (const copy_stopped&) {
            throw fail(db_error_kind::cancelled, "copy", "stopped by the run (cancel or deadline)");
        } catch (const std::system_error& e) {
            throw fail(kind_of(e.code()), "copy", "cannot copy a file", e.code());
        }
        created_.push_back(target);
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

    /// Removes what this copy created, newest first (snapshot_dir itself,
    /// and its parents, if this copy made them).
    void undo() noexcept {
        for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
            std::error_code ignored;
            fs::remove(*it, ignored);
        }
        created_.clear();
    }

    const SnapshotParams& params_;
    std::string engine_;
    CopyLimits limits_;
    fs::path source_, destination_;
    std::vector<fs::path> created_;
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
