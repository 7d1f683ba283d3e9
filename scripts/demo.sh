#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian 12; see
# scripts/install-deps.sh), builds the `taskexec` program with the release
# preset, and runs its demo — the `sales` snapshot workflow on a SQLite
# database with a live writer.
#
#   ./scripts/demo.sh            # extra arguments go to `taskexec demo`
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target taskexec_cli
exec build/release/examples/taskexec demo "$@"
