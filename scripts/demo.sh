#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds hsipc in Release and runs the demo: round-trip latency between two
# processes over hsipc (polling and blocking) and over a pipe, in one run.
#   scripts/demo.sh [--count N] [--size BYTES] [--region NAME] [--help]
# Installs missing Debian packages when run as root; otherwise prints the
# apt-get command to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(repo_root)
build="$root/build-release"

need_packages cmake:cmake ninja:ninja-build g++:g++ gcc:gcc

# The build's chatter goes to a log, shown only when something fails, so
# that the demo's table is what the user sees.
mkdir -p "$build"
log="$build/demo-build.log"
echo "demo.sh: building the demo (Release) in $build ..." >&2
if ! { configure "$build" -DCMAKE_BUILD_TYPE=Release -DHSIPC_BUILD_TESTS=OFF &&
       cmake --build "$build" -j "$(nproc)" --target demo; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "demo.sh: build failed (log: $log)" >&2
    exit 1
fi

exec "$build/examples/demo" "$@"
