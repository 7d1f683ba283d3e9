# run_fuzzer.cmake — one bounded libFuzzer run, for CTest (tests/fuzz).
#
#   cmake -DFUZZER=<exe> -DSEEDS=<dir> [-DREGRESSIONS=<dir>] -DDICT=<file> -DWORK=<dir>
#         -DSECONDS=<n> -P run_fuzzer.cmake
#
# Starts from a fresh copy of the seed corpus in WORK/corpus (libFuzzer adds
# the inputs it finds there, so the source tree is never written) plus the
# inputs of past findings (REGRESSIONS, if it exists), with a
# fixed seed, and fails on any crash, leak, timeout or sanitizer report: the
# input that caused it is left in WORK/artifacts/.
foreach(var FUZZER SEEDS DICT WORK SECONDS)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
    endif()
endforeach()

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
file(GLOB seeds "${SEEDS}/*")
if(NOT seeds)
    message(FATAL_ERROR "run_fuzzer.cmake: no seed inputs in ${SEEDS}")
endif()
file(COPY ${seeds} DESTINATION "${WORK}/corpus")
if(DEFINED REGRESSIONS AND IS_DIRECTORY "${REGRESSIONS}")
    file(GLOB regressions "${REGRESSIONS}/*")
    if(regressions)
        file(COPY ${regressions} DESTINATION "${WORK}/corpus")
    endif()
endif()

set(args -seed=1 -max_total_time=${SECONDS} -timeout=20 -rss_limit_mb=2048
         -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/)
if(EXISTS "${DICT}")
    list(APPEND args -dict=${DICT})
endif()
# The fuzzer reads and writes relative paths in its working directory only.
execute_process(COMMAND "${FUZZER}" ${args} "${WORK}/corpus"
                WORKING_DIRECTORY "${WORK}"
                RESULT_VARIABLE rc)
file(GLOB artifacts "${WORK}/artifacts/*")
if(NOT rc EQUAL 0 OR artifacts)
    message(FATAL_ERROR "run_fuzzer.cmake: ${FUZZER} failed (exit ${rc}); "
                        "reproduce with: ${FUZZER} ${artifacts}")
endif()
file(GLOB corpus "${WORK}/corpus/*")
list(LENGTH corpus corpus_size)
message(STATUS "run_fuzzer.cmake: clean after ${SECONDS} s; corpus now ${corpus_size} inputs")
