// taskexec/detail/plugin_abi.hpp — the hand-over between a plugin and its host.
//
// Every plugin built with taskexec_add_plugin() exports one C function,
// `taskexec_plugin_entry`, returning a PluginEntry. The host reads
// `abi_version` first — that field never moves — and refuses the plugin if
// it differs, before touching anything else.
//
// Why a hand-over at all: a header-only library has its registry in an
// inline function's static. A plugin built with -fvisibility=hidden (or a
// host that exports no symbols) ends up with a private copy of that static,
// and its registrations would land there. The entry lets the host find that
// private registry, take its records, and make it forward to the host's
// from then on (the lease table likewise). When the symbols *are* shared, the plugin's registrations
// reach the host's registry directly; the host stages them (see
// Registry::begin_staging) so both paths become visible all at once.
#pragma once

#include <taskexec/detail/config.hpp>
#include <taskexec/detail/lease_table.hpp>
#include <taskexec/detail/registry.hpp>

namespace taskexec {
inline namespace v2 {
namespace detail {

struct PluginEntry {
    int abi_version;      ///< TASKEXEC_ABI_VERSION of the plugin; must stay first
    int library_version;  ///< TASKEXEC_VERSION of the plugin, for messages
    Registry* (*registry)() noexcept;  ///< the registry the plugin's code sees
    LeaseTable* (*leases)() noexcept;  ///< the lease table the plugin's code sees
};

/// The registry as seen from the module this is compiled into.
inline Registry* module_registry() noexcept { return &Registry::instance(); }

/// The lease table as seen from the module this is compiled into: a lease a
/// plugin's engine takes must be releasable by the host (and vice versa).
inline LeaseTable* module_leases() noexcept { return &LeaseTable::instance(); }

/// The name of the exported entry function.
inline constexpr const char* plugin_entry_symbol = "taskexec_plugin_entry";

}  // namespace detail
}  // namespace v2
}  // namespace taskexec
