#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds hsipc and runs every test: the suite under AddressSanitizer and
# UndefinedBehaviorSanitizer, the threaded tests under ThreadSanitizer, the
# package install test, then the plain suite, whose CTest summary ends the
# output.
#
#   scripts/test.sh           everything
#   scripts/test.sh --quick   the plain suite only
#
# Installs missing Debian packages when run as root; otherwise prints the
# apt-get command to run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(repo_root)
quick=0
[[ ${1:-} == --quick ]] && quick=1

need_packages cmake:cmake ninja:ninja-build g++:g++ gcc:gcc \
    /usr/include/gtest/gtest.h:libgtest-dev strace:strace \
    pkg-config:pkg-config dpkg-shlibdeps:dpkg-dev python3:python3 lintian:lintian \
    /usr/share/doc/python3-venv:python3-venv \
    /usr/lib/python3/dist-packages/numpy:python3-numpy /usr/lib/python3/dist-packages/pip:python3-pip \
    /usr/lib/python3/dist-packages/setuptools:python3-setuptools /usr/lib/python3/dist-packages/wheel:python3-wheel \
    /usr/include/zmq.h:libzmq3-dev ip:iproute2

# configure_and_build DIR CMAKE_ARGS...
configure_and_build() {
    local dir=$1
    shift
    configure "$dir" -DCMAKE_BUILD_TYPE=Debug -DHSIPC_BUILD_TESTS=ON -DHSIPC_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)" >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
    echo "built $(basename "$dir")"
}

# run_ctest_quietly DIR LABEL CTEST_ARGS...: prints only the summary line,
# everything on failure.
run_ctest_quietly() {
    local dir=$1 label=$2
    shift 2
    if (cd "$dir" && ctest --output-on-failure "$@" >ctest.log 2>&1); then
        echo "$label: $(grep -E 'tests passed' "$dir/ctest.log")"
    else
        cat "$dir/ctest.log"
        echo "$label: FAILED"
        exit 1
    fi
}

# The public header on its own, as strict C11 and as pedantic C++.
echo '#include <hsipc.h>' | gcc -x c -std=c11 -Wall -Wextra -pedantic -Werror -I"$root/include" -fsyntax-only -
echo '#include <hsipc.h>' | g++ -x c++ -std=c++17 -Wall -Wextra -pedantic -Werror -I"$root/include" -fsyntax-only -
echo "hsipc.h compiles as C11 and C++17 (pedantic, warnings as errors)"

if ((!quick)); then
    configure_and_build "$root/build-asan" -DHSIPC_SANITIZE=address,undefined -DHSIPC_STEP_HOOKS=ON
    # (Not the ptrace crash-point test: single-stepping instrumented code
    # multiplies its time, and it checks the region, not memory safety. Nor
    # the perturbed reruns: the plain suite below has them.)
    run_ctest_quietly "$root/build-asan" "AddressSanitizer+UndefinedBehaviorSanitizer" \
        -E '^(Operations/CrashPoints|perturbed_)'
    # ThreadSanitizer sees threads, not processes: the tests whose threads
    # share one attachment, and the bridge's stats page (a writer thread
    # and reader threads on one mapping).
    configure_and_build "$root/build-tsan" -DHSIPC_SANITIZE=thread
    run_ctest_quietly "$root/build-tsan" "ThreadSanitizer" \
        -R '^(Threads\.|PoolThreads\.|Inbox\.Concurrent|WaitUntil\.|Wait\.|StatsPageTest\.)'
fi

if ((!quick)); then
    # The libFuzzer targets still build with clang and each runs briefly
    # over its corpus (the ordinary suite replays the corpora with gcc;
    # fuzz/README.md says how to fuzz for real).
    need_packages clang:clang /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a:libclang-rt-14-dev
    fuzz_build="$root/build-fuzz"
    configure "$fuzz_build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DHSIPC_BUILD_FUZZERS=ON -DHSIPC_WERROR=ON \
        -DHSIPC_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$fuzz_build" -j "$(nproc)" --target fuzzers >"$fuzz_build/build.log" 2>&1 ||
        { cat "$fuzz_build/build.log"; exit 1; }
    for target in config region_header region_state ops_model bridge_wire; do
        # New inputs go to a scratch directory (libFuzzer writes into its first
        # corpus directory), never into the committed corpus.
        rm -rf "$fuzz_build/fuzz/new-$target" && mkdir -p "$fuzz_build/fuzz/new-$target"
        (cd "$fuzz_build/fuzz" && ./fuzz_$target -runs=3000 "new-$target" "$root/fuzz/corpus/fuzz_$target" \
            >"fuzz_$target.log" 2>&1) ||
            { tail -40 "$fuzz_build/fuzz/fuzz_$target.log"; echo "fuzz_$target failed"; exit 1; }
    done
    echo "libFuzzer targets: built with clang, 5 ran 3000 inputs each over their corpora"

    # The Debian packages, installed into a scratch root, and a consumer
    # built against them as C and C++ via pkg-config and find_package.
    "$root/tests/install/run.sh"
fi

if ((!quick)); then
    # What a user or packager gets: Release with every option at its default
    # (-U drops whatever an older tree left in the cache), so no -Werror.
    # Only the library and the hsipc command, to keep it cheap.
    plain="$root/build-plain"
    mkdir -p "$plain"
    { configure "$plain" -U 'HSIPC_*' -DCMAKE_BUILD_TYPE=Release &&
        cmake --build "$plain" -j "$(nproc)" --target hsipc hsipc_cli; } >"$plain/build.log" 2>&1 ||
        { cat "$plain/build.log"; echo "plain Release build (default options): FAILED"; exit 1; }
    echo "plain Release build (default options): library and tools built"
fi

# With the step hooks (src/step.h): the race tests pause at chosen protocol
# steps, and the stress, chaos and race tests run again perturbed.
configure_and_build "$root/build-test" -DHSIPC_STEP_HOOKS=ON
# Sequentially: the multi-process tests spin on both cores.
cd "$root/build-test"
ctest --output-on-failure
