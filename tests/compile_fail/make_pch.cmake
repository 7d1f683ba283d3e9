# make_pch.cmake — precompile <taskexec/taskexec.hpp> once for all the
# compile-fail cases, as
#
#     cmake -DFLAGS_FILE=<compile_flags.cmake> -P make_pch.cmake
#
# Every case includes the whole library and nothing else, so parsing it is
# most of a case's time; with the header precompiled a case costs a third.
# The header is compiled with the cases' own arguments (COMPILE_FAIL_ARGS,
# without -fsyntax-only) into COMPILE_FAIL_PCH_OUTPUT, with a depfile naming
# every header it read, so the build remakes it when any of them changes;
# check.cmake hands it to the compiler with COMPILE_FAIL_PCH_ARGS. A
# precompiled header the compiler cannot use is an error there
# (-Werror=invalid-pch, or Clang's own check); one older than the library's
# headers (ctest run after an edit, without a build) is not used.
cmake_minimum_required(VERSION 3.25)

if(NOT DEFINED FLAGS_FILE)
    message(FATAL_ERROR "make_pch.cmake: -DFLAGS_FILE=... is required")
endif()
include("${FLAGS_FILE}")

set(_args ${COMPILE_FAIL_ARGS})
list(REMOVE_ITEM _args -fsyntax-only)
execute_process(
    COMMAND "${COMPILE_FAIL_COMPILER}" ${_args} -x c++-header "${COMPILE_FAIL_PCH_HEADER}"
            -o "${COMPILE_FAIL_PCH_OUTPUT}"
            -MD -MF "${COMPILE_FAIL_PCH_OUTPUT}.d" -MT "${COMPILE_FAIL_PCH_OUTPUT}"
    RESULT_VARIABLE _result)
if(NOT _result EQUAL 0)
    message(FATAL_ERROR "precompiling ${COMPILE_FAIL_PCH_HEADER} failed (${_result})")
endif()
