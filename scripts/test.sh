#!/usr/bin/env bash
# Builds hsipc and runs every test. Installs missing Debian packages when
# run as root; otherwise prints the apt-get command to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(repo_root)

need_packages cmake:cmake ninja:ninja-build g++:g++ gcc:gcc \
    /usr/include/gtest/gtest.h:libgtest-dev strace:strace

build="$root/build-test"
cmake -S "$root" -B "$build" -G "$(cmake_generator)" -DCMAKE_BUILD_TYPE=Debug -DHSIPC_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)"

# The public header on its own, as strict C11 and as pedantic C++.
echo '#include <hsipc.h>' | gcc -x c -std=c11 -Wall -Wextra -pedantic -Werror -I"$root/include" -fsyntax-only -
echo '#include <hsipc.h>' | g++ -x c++ -std=c++17 -Wall -Wextra -pedantic -Werror -I"$root/include" -fsyntax-only -
echo "hsipc.h compiles as C11 and C++17 (pedantic, warnings as errors)"

# Sequentially: the multi-process tests spin on both cores.
cd "$build"
ctest --output-on-failure
