#!/usr/bin/env bash
# Builds hsipc in Release and runs the demo: round-trip latency between two
# processes over hsipc (polling and blocking) and over a pipe.
#   scripts/demo.sh [--count N] [--size BYTES] [--region NAME] [--help]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-release"

# Debian package that provides each tool the build needs.
declare -A package_of=([cmake]=cmake [gcc]=gcc [g++]=g++)
missing=()
for tool in cmake gcc g++; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("${package_of[$tool]}")
done
# Either build tool will do; Ninja is faster, so it is the one we install.
if ! command -v ninja >/dev/null 2>&1 && ! command -v make >/dev/null 2>&1; then
    missing+=(ninja-build)
fi

if ((${#missing[@]} > 0)); then
    if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "demo.sh: installing missing build dependencies: ${missing[*]}" >&2
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
    else
        echo "demo.sh: missing build dependencies; install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

if command -v ninja >/dev/null 2>&1; then
    generator="Ninja"
else
    generator="Unix Makefiles"
fi

# An existing build directory keeps the generator it was made with (CMake
# refuses to switch).
generator_args=(-G "$generator")
if [[ -f "$build/CMakeCache.txt" ]]; then
    generator_args=()
fi

# The build's chatter goes to a log, shown only when something fails, so
# that the demo's table is what the user sees.
mkdir -p "$build"
log="$build/demo-build.log"
echo "demo.sh: building the demo (Release) in $build ..." >&2
if ! { cmake -S "$root" -B "$build" ${generator_args[@]+"${generator_args[@]}"} \
           -DCMAKE_BUILD_TYPE=Release -DHSIPC_BUILD_TESTS=OFF &&
       cmake --build "$build" -j "$(nproc)" --target demo; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "demo.sh: build failed (log: $log)" >&2
    exit 1
fi

exec "$build/examples/demo" "$@"
