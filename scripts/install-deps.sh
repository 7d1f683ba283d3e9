#!/usr/bin/env bash
# Installs the Debian 12 packages taskexec needs to build and run its whole
# test suite (compilers, CMake, libraries, and the database servers the
# integration tests start as throwaway instances). Does nothing when all of
# them are installed already; uses sudo when not run as root.
#
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --list     print the package list
set -euo pipefail

packages=(
    build-essential g++ clang cmake ninja-build git pkg-config
    libfmt-dev nlohmann-json3-dev catch2 libbenchmark-dev libcli11-dev
    libsqlite3-dev sqlite3
    libpq-dev postgresql
    mariadb-server libmariadb-dev
    libmongoc-dev libssl-dev
    redis-server libhiredis-dev
    valgrind
)

if [[ "${1:-}" == "--list" ]]; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi
echo "install-deps: installing ${missing[*]}"

sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "install-deps: not root and no sudo" >&2; exit 1; }
    sudo=(sudo)
fi

# Keep package scripts from starting the database servers: the tests start
# their own throwaway instances. Only when no policy exists already.
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
