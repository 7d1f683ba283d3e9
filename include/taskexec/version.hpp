// taskexec/version.hpp — the single source of the library version.
//
// CMake reads the three TASKEXEC_VERSION_* lines below, so keep their shape.
// The ABI version names the inline namespace (taskexec::v2): two copies of the
// library with different ABI versions in one program get distinct registries
// instead of silently sharing one with an incompatible layout.
#pragma once

#define TASKEXEC_VERSION_MAJOR 0
#define TASKEXEC_VERSION_MINOR 1
#define TASKEXEC_VERSION_PATCH 0

/// The version as one integer: major * 10000 + minor * 100 + patch.
#define TASKEXEC_VERSION \
    (TASKEXEC_VERSION_MAJOR * 10000 + TASKEXEC_VERSION_MINOR * 100 + TASKEXEC_VERSION_PATCH)

/// Bumped whenever the layout of a registry record or of the plugin hand-over
/// changes; a plugin built with another ABI version is refused at load.
/// 1: registrations go through a lock-free inbox, and engine invoke functions
/// take the dispatcher's DispatchSupport.
/// 2: invoke functions leave what the engine throws to the dispatcher
/// (call_engine) and report their own failures as dispatch_failure.
#define TASKEXEC_ABI_VERSION 2
