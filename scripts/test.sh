#!/usr/bin/env bash
# The whole check: installs missing build dependencies (Debian 12; see
# scripts/install-deps.sh), then configures, builds and runs every test with
# the `ci` preset (build/ci):
#
#   ./scripts/test.sh             # extra arguments go to cmake --workflow, e.g. --fresh
#
# The compiler comes from CXX (default: the system c++) when build/ci is first
# configured. To keep a second compiler's build apart, set
# TASKEXEC_BUILD_SUFFIX, e.g.
#   TASKEXEC_BUILD_SUFFIX=-clang CXX=clang++ ./scripts/test.sh    # build/ci-clang
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --workflow --preset ci "$@"
