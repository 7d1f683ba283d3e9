# run.cmake — one step of the package tests, run by CTest as
#
#     cmake -DSTEP=install|consumer -DSETTINGS=<settings.cmake> [-DCONSUMER=<name>] -P run.cmake
#
# SETTINGS (written by tests/package/CMakeLists.txt) holds the taskexec source
# dir, the work dir, the generator and an initial-cache file that forwards the
# outer build's compiler, flags and dependency locations to the inner builds.
#
# install:  configure the taskexec tree with tests/examples off, build, and
#           install it into <work>/prefix; check the installed files.
# consumer: configure, build and run the consumer project <CONSUMER>/ in a
#           fresh <work>/<CONSUMER> against that prefix / the source tree.
cmake_minimum_required(VERSION 3.25)

foreach(_var IN ITEMS STEP SETTINGS)
    if(NOT DEFINED ${_var})
        message(FATAL_ERROR "run.cmake: -D${_var}=... is required")
    endif()
endforeach()
include("${SETTINGS}")

function(run)
    string(JOIN " " _shown ${ARGN})
    message(STATUS "run: ${_shown}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE _result)
    if(NOT _result EQUAL 0)
        message(FATAL_ERROR "command failed (${_result}): ${_shown}")
    endif()
endfunction()

set(_prefix "${PACKAGE_WORK_DIR}/prefix")

# <build>-init.cmake, given to `cmake -C`: the outer build's settings plus
# entries added with cache_entry(). A file, so lists and spaces need no quoting.
function(begin_initial_cache build)
    file(WRITE "${build}-init.cmake" "include([==[${PACKAGE_INITIAL_CACHE}]==])\n")
endfunction()
function(cache_entry build name value)
    file(APPEND "${build}-init.cmake" "set(${name} [==[${value}]==] CACHE STRING \"\" FORCE)\n")
endfunction()

if(STEP STREQUAL "install")
    set(_build "${PACKAGE_WORK_DIR}/install-build")
    file(REMOVE_RECURSE "${_build}" "${_prefix}")
    begin_initial_cache("${_build}")
    cache_entry("${_build}" CMAKE_INSTALL_PREFIX "${_prefix}")
    foreach(_option IN ITEMS TASKEXEC_BUILD_TESTS TASKEXEC_BUILD_EXAMPLES TASKEXEC_BUILD_BENCHMARKS)
        cache_entry("${_build}" ${_option} OFF)
    endforeach()
    cache_entry("${_build}" TASKEXEC_INSTALL ON)
    run("${CMAKE_COMMAND}" -G "${PACKAGE_GENERATOR}" -C "${_build}-init.cmake"
        -S "${TASKEXEC_SOURCE_DIR}" -B "${_build}")
    run("${CMAKE_COMMAND}" --build "${_build}")
    run("${CMAKE_COMMAND}" --install "${_build}")

    foreach(_file IN ITEMS
            include/taskexec/taskexec.hpp
            include/taskexec/version.hpp
            share/cmake/taskexec/taskexecConfig.cmake
            share/cmake/taskexec/taskexecConfigVersion.cmake
            share/cmake/taskexec/taskexecTargets.cmake
            share/cmake/taskexec/taskexecHelpers.cmake
            share/pkgconfig/taskexec.pc)
        if(NOT EXISTS "${_prefix}/${_file}")
            message(FATAL_ERROR "not installed: ${_prefix}/${_file}")
        endif()
    endforeach()

    # The .pc file must resolve to the installed headers (when pkg-config
    # and the .pc files of fmt and nlohmann_json are around to ask).
    find_program(_pkg_config NAMES pkg-config pkgconf)
    if(_pkg_config)
        set(ENV{PKG_CONFIG_PATH} "${_prefix}/share/pkgconfig")
        execute_process(COMMAND "${_pkg_config}" --cflags --libs taskexec
                        RESULT_VARIABLE _result OUTPUT_VARIABLE _flags ERROR_VARIABLE _error
                        OUTPUT_STRIP_TRAILING_WHITESPACE)
        if(_result EQUAL 0)
            message(STATUS "pkg-config taskexec: ${_flags}")
            file(REAL_PATH "${_prefix}/include" _expected)
            string(REGEX MATCHALL "-I[^ ]+" _include_flags "${_flags}")
            set(_found FALSE)
            foreach(_flag IN LISTS _include_flags)
                string(SUBSTRING "${_flag}" 2 -1 _dir)
                if(IS_DIRECTORY "${_dir}")
                    file(REAL_PATH "${_dir}" _dir)
                    if(_dir STREQUAL _expected)
                        set(_found TRUE)
                    endif()
                endif()
            endforeach()
            if(NOT _found)
                message(FATAL_ERROR "pkg-config taskexec gives '${_flags}', "
                                    "without -I for ${_prefix}/include")
            endif()
        elseif(_error MATCHES "fmt|nlohmann_json")
            message(STATUS "pkg-config taskexec: skipped, a dependency has no .pc file: ${_error}")
        else()
            message(FATAL_ERROR "pkg-config taskexec failed: ${_error}")
        endif()
    endif()

elseif(STEP STREQUAL "consumer")
    if(NOT DEFINED CONSUMER)
        message(FATAL_ERROR "run.cmake: -DCONSUMER=... is required for STEP=consumer")
    endif()
    set(_build "${PACKAGE_WORK_DIR}/${CONSUMER}")
    file(REMOVE_RECURSE "${_build}")
    set(_prefix_path "${_prefix}" ${PACKAGE_OUTER_PREFIX_PATH})
    begin_initial_cache("${_build}")
    cache_entry("${_build}" CMAKE_PREFIX_PATH "${_prefix_path}")
    cache_entry("${_build}" TASKEXEC_SOURCE_DIR "${TASKEXEC_SOURCE_DIR}")
    cache_entry("${_build}" TASKEXEC_EXPECTED_VERSION "${TASKEXEC_VERSION}")
    run("${CMAKE_COMMAND}" -G "${PACKAGE_GENERATOR}" -C "${_build}-init.cmake"
        -S "${PACKAGE_SOURCE_DIR}/${CONSUMER}" -B "${_build}")
    run("${CMAKE_COMMAND}" --build "${_build}")
    set(_args)
    if(EXISTS "${_build}/plugins/libpackage_plugin.so")
        list(APPEND _args "${_build}/plugins/libpackage_plugin.so")
    elseif(CONSUMER STREQUAL "find_package")
        message(FATAL_ERROR "the find_package consumer built no plugins/libpackage_plugin.so")
    endif()
    run("${_build}/consumer" ${_args})

else()
    message(FATAL_ERROR "run.cmake: unknown STEP '${STEP}'")
endif()
