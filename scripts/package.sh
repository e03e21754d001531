#!/usr/bin/env bash
# Builds Debian packages of hsipc from this tree into OUTDIR:
#   libhsipc0, libhsipc-dev, hsipc-tools, python3-hsipc
#   scripts/package.sh OUTDIR
# Installs missing Debian packages when run as root; otherwise prints the
# apt-get command to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(repo_root)
if [[ $# -ne 1 || $1 == -* ]]; then
    echo "usage: scripts/package.sh OUTDIR" >&2
    exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)

need_packages cmake:cmake ninja:ninja-build g++:g++ gcc:gcc dpkg-shlibdeps:dpkg-dev

build="$root/build-package"
# As a distribution builds it: no -Werror (stated, so an older cache that
# had it on does not keep it).
configure "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DHSIPC_BUILD_TESTS=OFF -DHSIPC_BUILD_BENCH=OFF -DHSIPC_WERROR=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
(cd "$build" && cpack -G DEB -B "$out" >/dev/null)
rm -rf "$out/_CPack_Packages"
ls "$out"/*.deb
