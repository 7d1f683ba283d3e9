// taskexec/plugin.hpp — loading tasks, engines and workflows at run time.
//
//     // a plugin: ordinary sources with the usual macros, built with
//     //     taskexec_add_plugin(redis_engines redis_quiesce.cpp)
//     auto report = taskexec::load_plugin("/opt/app/plugins/libredis_engines.so");
//     for (const auto& engine : report.engines) std::cout << engine << '\n'; // "quiesce_db/redis"
//
//     auto reports = taskexec::load_plugins("/opt/app/plugins");  // every *.so, by name
//
// The C++ counterpart of the seed's importlib/pkgutil discovery. A plugin's
// registrations reach the host's registry whatever the host exports and
// whatever -fvisibility the plugin was built with, and become visible all at
// once when load_plugin returns. A plugin that conflicts with what is
// registered is refused whole: the registry stays exactly as it was, and a
// later attempt fails the same way. Plugins are never unloaded.
//
// Trust: a plugin file, or its directory, writable by a user other than its
// owner (or owned by someone other than root or the current user) is refused
// unless PluginOptions::allow_untrusted is set (see detail/plugin_trust.hpp).
//
// Thread safety: loads are serialised among themselves; dispatch on other
// threads goes on while a plugin loads. A plugin's static initialisers must
// not dispatch (they would not see the plugin's own registrations yet).
#pragma once

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>
#include <taskexec/detail/index.hpp>
#include <taskexec/detail/plugin_abi.hpp>
#include <taskexec/detail/plugin_trust.hpp>
#include <taskexec/detail/registry.hpp>
#include <taskexec/detail/text.hpp>
#include <taskexec/error.hpp>

namespace taskexec {
inline namespace v2 {

/// What one load_plugin call did.
struct PluginReport {
    std::filesystem::path path;  ///< canonical
    bool newly_loaded = false;   ///< false for a repeat load of the same file
    /// Names this load added (not repeats of what was registered), sorted.
    std::vector<std::string> tasks, engines /* "task/engine" */, workflows;

    /// {"path","newly_loaded","tasks","engines","workflows"}
    json to_json() const {
        return {{"path", path.string()}, {"newly_loaded", newly_loaded}, {"tasks", tasks},
                {"engines", engines},    {"workflows", workflows}};
    }
};

/// How plugins are loaded.
struct PluginOptions {
    /// Load even a plugin that other users could have modified. Off by default.
    bool allow_untrusted = false;
};

namespace detail {

[[noreturn]] TASKEXEC_INTERNAL_COLD inline void throw_plugin_failed(
    const std::filesystem::path& path, const std::string& reason) {
    throw error(errc::plugin_load_failed,
                "cannot load plugin " + path.string() + ": " + reason, {{"path", path.string()}});
}

/// Names present in `after` but not in `before`, sorted.
inline std::vector<std::string> added_names(std::vector<std::string> before,
                                            std::vector<std::string> after) {
    std::sort(before.begin(), before.end());
    std::sort(after.begin(), after.end());
    std::vector<std::string> out;
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                        std::back_inserter(out));
    return out;
}

inline std::vector<std::string> engine_pairs(const Index& ix) {
    std::vector<std::string> out;
    for (const EngineEntry& e : ix.engines)
        out.push_back(std::string(e.task->name()) + "/" + std::string(e.type));
    return out;
}

template <class Names>
std::vector<std::string> to_strings(const Names& names) {
    return {names.begin(), names.end()};
}

/// A conflict that `after` has and `before` has not (or has with fewer sites).
inline const Conflict* new_conflict(const Index& before, const Index& after) {
    for (const Conflict* c : after.conflicts) {
        const auto same = std::find_if(
            before.conflicts.begin(), before.conflicts.end(), [&](const Conflict* old) {
                return old->kind == c->kind && old->name == c->name &&
                       old->sites.size() == c->sites.size();
            });
        if (same == before.conflicts.end()) return c;
    }
    return nullptr;
}

/// The process-wide record of loaded (and refused) plugins.
class PluginLoader {
public:
    static PluginLoader& instance() {
        static PluginLoader* const loader = new PluginLoader();  // never destroyed
        return *loader;
    }

    PluginReport load(const std::filesystem::path& requested, const PluginOptions& options) {
        std::error_code ec;
        const std::filesystem::path path = std::filesystem::canonical(requested, ec);
        if (ec) throw_plugin_failed(requested, "the file cannot be found (" + ec.message() + ")");
        if (!std::filesystem::is_regular_file(path, ec))
            throw_plugin_failed(path, "it is not a regular file");

        std::lock_guard lock(mutex_);
        if (loaded_.count(path.string()) != 0) return PluginReport{path, false, {}, {}, {}};
        if (auto failed = failed_.find(path.string()); failed != failed_.end())
            throw failed->second;
        if (!options.allow_untrusted)
            if (auto why = untrusted_plugin(path))
                throw_plugin_failed(path, "refused because " + *why +
                                              "; fix its permissions, or opt out with "
                                              "PluginOptions::allow_untrusted");
        try {
            PluginReport report = load_new(path);
            loaded_.insert(path.string());
            return report;
        } catch (const error& e) {
            // Its initialisers have run and cannot run again: remember why it
            // failed, so a later attempt fails the same way.
            if (e.code() == errc::plugin_load_failed && dlopened_) failed_.emplace(path.string(), e);
            throw;
        }
    }

private:
    PluginLoader() = default;

    PluginReport load_new(const std::filesystem::path& path) {
        dlopened_ = false;
        Registry& host = Registry::instance();
        std::vector<Record> staged;
        host.begin_staging(&staged);
        void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        host.end_staging();
        if (handle == nullptr) {
            const char* why = ::dlerror();
            throw_plugin_failed(path, std::string("it is not a loadable shared object (") +
                                          (why != nullptr ? why : "unknown dlopen error") + ")");
        }
        dlopened_ = true;
        // The entry's C type never changes across versions (const void*()),
        // so calling an incompatible plugin's entry is well-defined; what it
        // points to is read only after the ABI number, its first field, matches.
        using EntryFn = const void* (*)();
        auto entry_fn = reinterpret_cast<EntryFn>(::dlsym(handle, plugin_entry_symbol));
        if (entry_fn == nullptr)
            throw_plugin_failed(path, "it is not a taskexec plugin (it exports no "
                                      "taskexec_plugin_entry; build it with "
                                      "taskexec_add_plugin())");
        const auto* entry = static_cast<const PluginEntry*>(entry_fn());
        if (entry == nullptr || entry->abi_version != TASKEXEC_ABI_VERSION)
            throw_plugin_failed(
                path, "it was built against an incompatible taskexec (plugin ABI " +
                          std::to_string(entry != nullptr ? entry->abi_version : -1) +
                          ", version " +
                          std::to_string(entry != nullptr ? entry->library_version : -1) +
                          "; this program: ABI " + std::to_string(TASKEXEC_ABI_VERSION) +
                          ", version " + std::to_string(TASKEXEC_VERSION) + ")");

        // A private registry (hidden visibility, or a host exporting nothing)
        // holds the plugin's records; a shared one sent them to `staged`.
        Registry* private_registry = entry->registry();
        if (private_registry == &host) private_registry = nullptr;
        if (private_registry != nullptr) {
            const std::vector<Record> own = private_registry->records();
            staged.insert(staged.end(), own.begin(), own.end());
        }
        const std::string* origin = host.keep(path.string());
        for (Record& r : staged) r.origin = origin;

        PluginReport report{path, true, {}, {}, {}};
        for (;;) {
            const std::vector<Record> live = host.records();
            std::vector<Record> combined = live;
            combined.insert(combined.end(), staged.begin(), staged.end());
            const auto before = Index::build(live, 0);
            const auto after = Index::build(combined, 0);
            if (const Conflict* c = new_conflict(*before, *after))
                throw_plugin_failed(path, "it conflicts with existing registrations: " + c->kind +
                                              " " + quote_name(c->name) +
                                              " is registered by different classes at " +
                                              c->sites_text());
            report.tasks = added_names(to_strings(before->task_names()),
                                       to_strings(after->task_names()));
            report.engines = added_names(engine_pairs(*before), engine_pairs(*after));
            report.workflows = added_names(to_strings(before->workflow_names()),
                                           to_strings(after->workflow_names()));
            // Someone registered meanwhile (a lazy static elsewhere): re-check.
            if (host.commit(staged, live.size())) break;
        }
        if (private_registry != nullptr) private_registry->forward_to(&host);
        // Same trap for leases: a hidden plugin's sessions must be in the
        // host's table, or the host could not release (or outlive) them.
        LeaseTable* plugin_leases = entry->leases();
        if (plugin_leases != &LeaseTable::instance()) plugin_leases->forward_to(&LeaseTable::instance());
        return report;
    }

    std::mutex mutex_;
    std::set<std::string> loaded_;
    std::map<std::string, error> failed_;
    bool dlopened_ = false;
};

}  // namespace detail

/// Loads one plugin (a shared object built with taskexec_add_plugin) and
/// returns what it added. Throws taskexec::error plugin_load_failed naming
/// the path and the reason: missing or untrusted file, not a shared object,
/// not a taskexec plugin, incompatible taskexec version, or a conflict with
/// existing registrations (then nothing of it is registered). Loading the
/// same file again returns newly_loaded == false and empty lists.
inline PluginReport load_plugin(const std::filesystem::path& shared_object,
                                const PluginOptions& options = {}) {
    return detail::PluginLoader::instance().load(shared_object, options);
}

/// Loads every regular file (or link to one) named `*.so` in `directory`,
/// not recursively, in bytewise order of file name. The first failure
/// throws plugin_load_failed; plugins loaded before it stay loaded and are
/// listed under "loaded" in the error's to_json(). A missing directory (or
/// an untrusted one) is plugin_load_failed.
inline std::vector<PluginReport> load_plugins(const std::filesystem::path& directory,
                                              const PluginOptions& options = {}) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(directory, ec))
        detail::throw_plugin_failed(directory, "the plugin directory does not exist");
    if (!options.allow_untrusted)
        if (auto why = detail::untrusted_reason(fs::canonical(directory, ec), true))
            detail::throw_plugin_failed(directory, "refused because the directory " + *why);
    std::vector<fs::path> candidates;
    for (const fs::directory_entry& entry : fs::directory_iterator(directory, ec)) {
        const fs::path& p = entry.path();
        // is_regular_file follows links, so a link to a regular file counts.
        if (p.extension() == ".so" && fs::is_regular_file(p, ec)) candidates.push_back(p);
    }
    if (ec) detail::throw_plugin_failed(directory, "cannot list the directory (" + ec.message() + ")");
    std::sort(candidates.begin(), candidates.end(), [](const fs::path& a, const fs::path& b) {
        return a.filename().string() < b.filename().string();
    });
    std::vector<PluginReport> reports;
    for (const fs::path& p : candidates) {
        try {
            reports.push_back(load_plugin(p, options));
        } catch (const error& e) {
            json context = e.context();
            json loaded = json::array();
            for (const PluginReport& r : reports) loaded.push_back(r.path.string());
            context["loaded"] = std::move(loaded);
            throw error(e.code(), e.what(), std::move(context));
        }
    }
    return reports;
}

}  // namespace v2
}  // namespace taskexec
