# taskexecWarnings.cmake — strict warnings for taskexec's own targets.
#
#     taskexec_target_warnings(my_test)
#
# Only for the project's tests, examples and checks; never applied to the
# INTERFACE target `taskexec`, whose users choose their own warnings. Not
# installed.
include_guard(GLOBAL)

option(TASKEXEC_WARNINGS_AS_ERRORS "Treat warnings in taskexec's own tests and examples as errors" ON)

function(taskexec_target_warnings target)
    if(NOT TARGET "${target}")
        message(FATAL_ERROR "taskexec_target_warnings: '${target}' is not a target")
    endif()
    if(ARGN)
        message(FATAL_ERROR "taskexec_target_warnings: unexpected arguments: ${ARGN}")
    endif()
    get_target_property(_type "${target}" TYPE)
    if(_type STREQUAL "INTERFACE_LIBRARY")
        message(FATAL_ERROR "taskexec_target_warnings: '${target}' is an INTERFACE library; "
                            "warnings belong on targets that compile sources")
    endif()

    if(MSVC)
        set(_flags /W4 /permissive-)
        if(TASKEXEC_WARNINGS_AS_ERRORS)
            list(APPEND _flags /WX)
        endif()
    else()
        set(_flags -Wall -Wextra -Wpedantic -Wconversion -Wshadow)
        if(TASKEXEC_WARNINGS_AS_ERRORS)
            list(APPEND _flags -Werror)
        endif()
    endif()
    target_compile_options("${target}" PRIVATE ${_flags})
endfunction()
