# taskexecHeaderCheck.cmake — every header must compile on its own.
#
#     taskexec_add_header_check(<target>)
#
# Globs include/taskexec/*.hpp and include/taskexec/detail/*.hpp at configure
# time (re-globbed when headers are added or removed) and writes one source
# per header that includes it twice — the second include proves the include
# guard / #pragma once. All of them compile into the OBJECT library <target>,
# with the project's warnings, as part of the default build. Not installed.
include_guard(GLOBAL)

function(taskexec_add_header_check target)
    if(ARGN)
        message(FATAL_ERROR "taskexec_add_header_check: unexpected arguments: ${ARGN}")
    endif()
    set(_include_dir "${PROJECT_SOURCE_DIR}/include")
    file(GLOB _headers CONFIGURE_DEPENDS
         RELATIVE "${_include_dir}"
         "${_include_dir}/taskexec/*.hpp"
         "${_include_dir}/taskexec/detail/*.hpp")
    list(SORT _headers)
    if(NOT _headers)
        message(WARNING "taskexec_add_header_check: no headers under ${_include_dir}/taskexec; "
                        "'${target}' not created")
        return()
    endif()

    set(_sources)
    foreach(_header IN LISTS _headers)
        set(_source "${CMAKE_CURRENT_BINARY_DIR}/${target}/${_header}.cpp")
        # file(CONFIGURE) rewrites only on change, so reconfiguring does not
        # trigger a rebuild.
        file(CONFIGURE OUTPUT "${_source}" CONTENT
             "#include <@_header@>\n#include <@_header@>\n"
             @ONLY)
        list(APPEND _sources "${_source}")
    endforeach()

    add_library("${target}" OBJECT ${_sources})
    target_link_libraries("${target}" PRIVATE taskexec::taskexec)
    taskexec_target_warnings("${target}")
endfunction()
