#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the Debian packages, unpacks them into a scratch root, and builds
# and runs a consumer against the installed files only: as C and as C++,
# through pkg-config (shared and --static) and through find_package (the
# static target from a C-only project). Checks that the library exports only
# hsipc_*, exactly those of libhsipc0's symbols file, that every package has
# its copyright file, that `hsipc bench` finds the packaged benchmark, that
# the Python module imports, and that hsipc-bridge runs from the scratch root
# with its manual page and depends on libzmq5 while the library does not.
# Where lintian is installed, fails on any error or warning it reports on the
# five packages. Removes the scratch root at the end. Skips where dpkg is
# missing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
if ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "install test: SKIPPED (dpkg-deb not found: not a Debian system)"
    exit 0
fi
work=$(mktemp -d /tmp/hsipc-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
sysroot="$work/root"
fail() { echo "install test: FAILED: $*" >&2; exit 1; }

"$repo/scripts/package.sh" "$work/debs" >"$work/package.log" 2>&1 || { cat "$work/package.log"; fail "packaging"; }
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
packages=(libhsipc0 libhsipc-dev hsipc-tools python3-hsipc hsipc-bridge)
for pkg in "${packages[@]}"; do
    ls "$work"/debs/"$pkg"_*.deb >/dev/null 2>&1 || fail "no $pkg package"
done

multiarch=$(gcc -print-multiarch)
libdir="$sysroot/usr/lib/$multiarch"
[[ -e $libdir/libhsipc.so.0 ]] || fail "libhsipc.so.0 not in /usr/lib/$multiarch"
soname=$(objdump -p "$libdir/libhsipc.so.0" | awk '/SONAME/ {print $2}')
[[ $soname == libhsipc.so.0 ]] || fail "SONAME is '$soname'"
exported=$(nm -D --defined-only "$libdir/libhsipc.so.0" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//')
foreign=$(grep -v '^hsipc_' <<<"$exported" | grep -v '^HSIPC_0$' || true)
[[ -z $foreign ]] || fail "exports beyond hsipc_*: $foreign"
dpkg-deb --ctrl-tarfile "$work"/debs/libhsipc0_*.deb | tar -xO ./symbols >"$work/symbols" ||
    fail "libhsipc0 has no symbols file"
"$here/check-symbols.sh" "$libdir/libhsipc.so.0" "$work/symbols" >/dev/null || fail "symbols file"
for pkg in "${packages[@]}"; do
    grep -q '^License: MIT' "$sysroot/usr/share/doc/$pkg/copyright" 2>/dev/null || fail "$pkg has no copyright file"
done

export LD_LIBRARY_PATH="$libdir"
export PKG_CONFIG_SYSROOT_DIR="$sysroot" PKG_CONFIG_LIBDIR="$libdir/pkgconfig"
cflags=$(pkg-config --cflags hsipc)
gcc -std=c11 -Wall -Werror $cflags "$here/consumer.c" -o "$work/c_shared" $(pkg-config --libs hsipc)
g++ -std=c++17 -Wall -Werror $cflags -I"$here" "$here/consumer.cc" -o "$work/cxx_shared" $(pkg-config --libs hsipc)
# A static C program: Libs.private brings the C++ runtime and pthread.
gcc -std=c11 -Wall -Werror $cflags "$here/consumer.c" -o "$work/c_static" \
    -Wl,-Bstatic $(pkg-config --libs --static hsipc | sed 's/-lstdc++ -lpthread//') -Wl,-Bdynamic -lstdc++ -lpthread
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$sysroot/usr" >"$work/cmake.log" 2>&1 ||
    { cat "$work/cmake.log"; fail "find_package(hsipc)"; }
cmake --build "$work/cmake" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "building against the CMake package"; }
cmake -S "$here/static-c" -B "$work/cmake-static" -DCMAKE_PREFIX_PATH="$sysroot/usr" >"$work/cmake.log" 2>&1 &&
    cmake --build "$work/cmake-static" >>"$work/cmake.log" 2>&1 || { cat "$work/cmake.log"; fail "hsipc::hsipc_static from C"; }
for program in "$work"/c_shared "$work"/cxx_shared "$work"/c_static \
    "$work"/cmake/consumer_c "$work"/cmake/consumer_cxx "$work"/cmake-static/consumer_static; do
    "$program" >/dev/null || fail "$(basename "$program") did not run"
done
for program in "$work"/c_static "$work"/cmake-static/consumer_static; do
    ldd "$program" | grep -q libhsipc && fail "$(basename "$program") links libhsipc dynamically"
done

"$sysroot/usr/bin/hsipc" --version >/dev/null || fail "hsipc command"
# --list: hsipc_bench names its mechanisms and exits, without measuring.
"$sysroot/usr/bin/hsipc" bench --list | grep -q hsipc || fail "hsipc bench does not run the packaged hsipc_bench"
if command -v python3 >/dev/null 2>&1 && [[ -d $sysroot/usr/lib/python3/dist-packages/hsipc ]]; then
    HSIPC_LIBRARY="$libdir/libhsipc.so.0" PYTHONPATH="$sysroot/usr/lib/python3/dist-packages" \
        python3 -c 'import hsipc; hsipc.version()' || fail "python3 -c 'import hsipc'"
fi
# hsipc-bridge: its program runs against the unpacked library, its manual
# page is there, and libzmq is its dependency, never the library's.
help=$("$sysroot/usr/bin/hsipc-bridge" --help) || fail "hsipc-bridge --help"
[[ $help == "usage: hsipc-bridge "* ]] || fail "hsipc-bridge --help printed: $help"
[[ -s $sysroot/usr/share/man/man1/hsipc-bridge.1.gz ]] || fail "no hsipc-bridge.1.gz in /usr/share/man/man1"
depends() { dpkg-deb --field "$work"/debs/"$1"_*.deb Depends; }
[[ $(depends hsipc-bridge) == *"libhsipc0 (= "*"libzmq5"* ]] || fail "hsipc-bridge depends on '$(depends hsipc-bridge)'"
[[ $(depends libhsipc0) != *zmq* ]] || fail "libhsipc0 depends on libzmq: '$(depends libhsipc0)'"
[[ $(objdump -p "$libdir/libhsipc.so.0") != *NEEDED*libzmq* ]] || fail "libhsipc.so.0 links libzmq"
[[ $(objdump -p "$sysroot/usr/bin/hsipc-bridge") == *NEEDED*libzmq* ]] || fail "hsipc-bridge does not link libzmq"
# Errors and warnings fail; info and pedantic tags are shown, not counted.
if command -v lintian >/dev/null 2>&1; then
    lintian --display-info --tag-display-limit 0 "$work"/debs/*.deb >"$work/lintian.log" 2>&1 || true
    if grep -q '^[EW]:' "$work/lintian.log"; then
        cat "$work/lintian.log" >&2
        fail "lintian reports errors or warnings"
    fi
    echo "install test: lintian: no errors or warnings ($(grep -c '^I:' "$work/lintian.log" || true) info tags)"
else
    echo "install test: lintian not installed: packages not checked by it"
fi
echo "install test: passed (${#packages[@]} packages; C and C++ via pkg-config shared and static, and via find_package)"
