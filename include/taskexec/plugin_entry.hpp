// taskexec/plugin_entry.hpp — defines a plugin's exported entry point.
//
// taskexec_add_plugin() compiles one generated source into every plugin:
//
//     #include <taskexec/plugin_entry.hpp>
//     TASKEXEC_INTERNAL_DEFINE_PLUGIN_ENTRY()
//
// Plugins built another way must do the same in exactly one of their source
// files; without it load_plugin() refuses the library as "not a taskexec
// plugin".
#pragma once

#include <taskexec/detail/plugin_abi.hpp>

#define TASKEXEC_INTERNAL_DEFINE_PLUGIN_ENTRY()                                              \
    extern "C" TASKEXEC_API const void* taskexec_plugin_entry() {                            \
        static const ::taskexec::detail::PluginEntry entry{                                 \
            TASKEXEC_ABI_VERSION, TASKEXEC_VERSION, &::taskexec::detail::module_registry,    \
            &::taskexec::detail::module_leases};                                             \
        return &entry;                                                                       \
    }
