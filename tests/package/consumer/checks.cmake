# Checks shared by the add_subdirectory and FetchContent consumers.

# taskexec as a subproject: the alias target and the helpers exist, and the
# options that default to "top-level only" are off.
function(consumer_check_subproject)
    if(NOT TARGET taskexec::taskexec)
        message(FATAL_ERROR "taskexec::taskexec is not defined")
    endif()
    get_target_property(_aliased taskexec::taskexec ALIASED_TARGET)
    if(NOT _aliased STREQUAL "taskexec")
        message(FATAL_ERROR "taskexec::taskexec is not an alias of taskexec")
    endif()
    foreach(_command IN ITEMS taskexec_link_registrations taskexec_add_plugin)
        if(NOT COMMAND ${_command})
            message(FATAL_ERROR "${_command}() is not available")
        endif()
    endforeach()
    foreach(_option IN ITEMS TASKEXEC_BUILD_TESTS TASKEXEC_BUILD_EXAMPLES
                             TASKEXEC_BUILD_BENCHMARKS TASKEXEC_INSTALL)
        if(${_option})
            message(FATAL_ERROR "${_option} is ON although taskexec is not the top-level project")
        endif()
    endforeach()
endfunction()
