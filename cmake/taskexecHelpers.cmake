# taskexecHelpers.cmake — CMake functions for projects that use taskexec.
#
# Installed next to taskexecConfig.cmake and included by it, and included by
# taskexec's own CMakeLists.txt, so both functions are available after
# find_package(taskexec), add_subdirectory() and FetchContent alike.
#
#     add_library(db_tasks STATIC quiesce_db.cpp snapshot_files.cpp)
#     target_link_libraries(db_tasks PUBLIC taskexec::taskexec)
#     add_executable(app main.cpp)
#     taskexec_link_registrations(app PRIVATE db_tasks)
#
#     taskexec_add_plugin(extra_tasks extra.cpp)          # -> libextra_tasks.so
#     set_target_properties(extra_tasks PROPERTIES LIBRARY_OUTPUT_DIRECTORY plugins)
include_guard(GLOBAL)

if(CMAKE_VERSION VERSION_LESS 3.24)
    message(FATAL_ERROR "taskexec's CMake helpers need CMake >= 3.24 ($<LINK_LIBRARY:WHOLE_ARCHIVE>)")
endif()

# taskexec_link_registrations(<target> [PRIVATE|PUBLIC|INTERFACE] <static-library>...)
#
# Links static libraries that hold TASKEXEC_TASK/_ENGINE/_WORKFLOW
# registrations "whole archive". A registration is a static object nobody
# refers to by name, so a plain static link drops its object file and the
# task silently never registers; whole-archive linking keeps every object.
# The visibility keyword defaults to PRIVATE.
#
# The target must not ALSO link these libraries plainly, neither directly nor
# through another library's usage requirements: CMake refuses to link one
# library both with and without the WHOLE_ARCHIVE feature ("Impossible to link
# target ..."). Link them only through this function, or, when a plain link
# comes in transitively, set the target property
# LINK_LIBRARY_OVERRIDE_<library> to WHOLE_ARCHIVE instead.
function(taskexec_link_registrations target)
    if(NOT TARGET "${target}")
        message(FATAL_ERROR "taskexec_link_registrations: '${target}' is not a target")
    endif()
    set(_libraries ${ARGN})
    set(_scope PRIVATE)
    if(_libraries)
        list(GET _libraries 0 _first)
        if(_first MATCHES "^(PRIVATE|PUBLIC|INTERFACE)$")
            set(_scope "${_first}")
            list(REMOVE_AT _libraries 0)
        endif()
    endif()
    if(NOT _libraries)
        message(FATAL_ERROR "taskexec_link_registrations(${target}): no static library given")
    endif()

    set(_items)
    foreach(_library IN LISTS _libraries)
        if(_library MATCHES "^(PRIVATE|PUBLIC|INTERFACE)$")
            message(FATAL_ERROR "taskexec_link_registrations(${target}): the visibility keyword "
                                "must come first, and only once")
        endif()
        # A target may legitimately be defined later in the project, so only
        # targets that already exist are checked.
        if(TARGET "${_library}")
            get_target_property(_type "${_library}" TYPE)
            if(NOT _type STREQUAL "STATIC_LIBRARY")
                message(FATAL_ERROR "taskexec_link_registrations(${target}): '${_library}' is a "
                                    "${_type}, not a static library; link it normally")
            endif()
        endif()
        list(APPEND _items "$<LINK_LIBRARY:WHOLE_ARCHIVE,${_library}>")
    endforeach()
    target_link_libraries("${target}" ${_scope} ${_items})
endfunction()

# taskexec_add_plugin(<name> <source>...)
#
# Builds the plugin lib<name>.so, a MODULE library for taskexec::load_plugin():
# the given sources (which use the ordinary registration macros) plus a
# generated source holding the plugin's entry point. It links taskexec::taskexec
# PRIVATE and is compiled with TASKEXEC_CONFIG_PLUGIN=1. Output directory,
# visibility and any further settings are the caller's. Static libraries
# linked into it must be built with POSITION_INDEPENDENT_CODE.
function(taskexec_add_plugin name)
    set(_sources ${ARGN})
    if(NOT _sources)
        message(FATAL_ERROR "taskexec_add_plugin(${name}): no source given")
    endif()
    if(TARGET "${name}")
        message(FATAL_ERROR "taskexec_add_plugin(${name}): a target of that name already exists")
    endif()

    set(_entry "${CMAKE_CURRENT_BINARY_DIR}/taskexec_plugin_entry/${name}.cpp")
    file(CONFIGURE OUTPUT "${_entry}" CONTENT
         "#include <taskexec/plugin_entry.hpp>\nTASKEXEC_INTERNAL_DEFINE_PLUGIN_ENTRY()\n")

    add_library("${name}" MODULE ${_sources} "${_entry}")
    target_link_libraries("${name}" PRIVATE taskexec::taskexec)
    target_compile_definitions("${name}" PRIVATE TASKEXEC_CONFIG_PLUGIN=1)
    set_target_properties("${name}" PROPERTIES PREFIX "lib" SUFFIX ".so")
endfunction()
