#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds Debian packages of hsipc from this tree into OUTDIR:
#   libhsipc0, libhsipc-dev, hsipc-tools (hsipc and its benchmark), python3-hsipc,
#   hsipc-bridge (the bridge, which needs libzmq3-dev to build)
#   scripts/package.sh OUTDIR
# Maintainer and Homepage come from HSIPC_PACKAGE_MAINTAINER and
# HSIPC_PACKAGE_HOMEPAGE (CMake cache, cmake/install.cmake): set them in
# build-package/ or pass -D... once with cmake before publishing.
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

need_packages cmake:cmake ninja:ninja-build g++:g++ gcc:gcc dpkg-shlibdeps:dpkg-dev \
    pkg-config:pkg-config /usr/include/zmq.h:libzmq3-dev

build="$root/build-package"
# As a distribution builds it: Debian's hardening flags (fortified libc
# calls, full RELRO with immediate binding; dpkg-buildflags with every
# hardening feature), without -g as there is no -dbgsym package, and no
# -Werror. All stated on every run, as the cache would keep older values.
# The benchmark is built for hsipc-tools without iceoryx and Boost, which
# must not become dependencies of the package. The bridge is required
# (HSIPC_BUILD_BRIDGE=ON), so that a missing libzmq fails here rather than
# leaving out its package.
flags() { DEB_BUILD_MAINT_OPTIONS=hardening=+all DEB_CFLAGS_MAINT_STRIP=-g DEB_CXXFLAGS_MAINT_STRIP=-g \
    dpkg-buildflags --get "$1"; }
configure "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_C_FLAGS="$(flags CPPFLAGS) $(flags CFLAGS)" -DCMAKE_CXX_FLAGS="$(flags CPPFLAGS) $(flags CXXFLAGS)" \
    -DCMAKE_EXE_LINKER_FLAGS="$(flags LDFLAGS)" -DCMAKE_SHARED_LINKER_FLAGS="$(flags LDFLAGS)" \
    -DHSIPC_BUILD_TESTS=OFF -DHSIPC_BUILD_BENCH=ON -DHSIPC_BENCH_ICEORYX=OFF -DHSIPC_BENCH_BOOST=OFF \
    -DHSIPC_BUILD_BRIDGE=ON \
    -DHSIPC_WERROR=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
(cd "$build" && cpack -G DEB -B "$out" >/dev/null)
rm -rf "$out/_CPack_Packages"
ls "$out"/*.deb
