#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds hsipc_bench (Release) and runs it: round-trip latency and one-way
# streaming throughput of hsipc beside a raw shared-memory baseline, pipes,
# Unix sockets, POSIX and System V message queues, iceoryx and
# Boost.Interprocess, in one run.
#
#   scripts/bench.sh              full run, a few minutes
#   scripts/bench.sh --quick      under a minute
#   scripts/bench.sh [hsipc_bench options...]   (scripts/bench.sh --help)
#   scripts/bench.sh --epoll [options...]   round trips with both processes
#                                 asleep in epoll_wait: hsipc_epoll_bench
#                                 (about 50 s; --epoll --help)
#   scripts/bench.sh --pubsub [options...]  one publisher, 1..3 subscribers:
#                                 hsipc_pubsub_bench, beside a raw ring and
#                                 iceoryx (about 2 minutes; --pubsub --help)
#   scripts/bench.sh --bridge [options...]  hsipc-bridge against plain ZeroMQ
#                                 on the same link: hsipc_bridge_bench, over a
#                                 veth pair between two network namespaces as
#                                 root, else loopback (under a minute;
#                                 --bridge --help)
#
# Prints the tables and the targets check; writes results.csv and
# latency.png to bench-results/ (or --out DIR). Installs missing Debian
# packages when run as root; otherwise prints the apt-get command (without
# iceoryx, Boost or gnuplot their rows say n/a and there is no plot). When
# no iox-roudi is running it starts one (bench/roudi.toml) for the run and
# stops it by its pid at exit, also on error or Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(repo_root)
build="$root/build-release"
start=$SECONDS

need_packages cmake:cmake ninja:ninja-build g++:g++ gcc:gcc

# The event-loop round trips: their own program, needing no comparison
# packages and no RouDi.
if [[ ${1:-} == --epoll ]]; then
    shift
    mkdir -p "$build"
    log="$build/bench-build.log"
    echo "bench.sh: building hsipc_epoll_bench (Release) in $build ..." >&2
    if ! { configure "$build" -DCMAKE_BUILD_TYPE=Release -DHSIPC_BUILD_TESTS=OFF -DHSIPC_BUILD_BENCH=ON &&
           cmake --build "$build" -j "$(nproc)" --target hsipc_epoll_bench; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "bench.sh: build failed (log: $log)" >&2
        exit 1
    fi
    exec "$build/bench/hsipc_epoll_bench" "$@"
fi

# The bridge against plain ZeroMQ: its own program and hsipc-bridge, both
# linking libzmq; `ip` (iproute2) makes the veth pair, and without it the
# run goes over loopback and says so.
if [[ ${1:-} == --bridge ]]; then
    shift
    need_packages pkg-config:pkg-config /usr/include/zmq.h:libzmq3-dev
    if [[ $(id -u) -eq 0 ]] && ! (need_packages ip:iproute2); then
        echo "bench.sh: no iproute2: going on over loopback" >&2
    fi
    mkdir -p "$build"
    log="$build/bench-build.log"
    echo "bench.sh: building hsipc_bridge_bench and hsipc-bridge (Release) in $build ..." >&2
    if ! { configure "$build" -DCMAKE_BUILD_TYPE=Release -DHSIPC_BUILD_TESTS=OFF -DHSIPC_BUILD_BENCH=ON \
               -DHSIPC_BUILD_BRIDGE=ON &&
           cmake --build "$build" -j "$(nproc)" --target hsipc_bridge_bench hsipc_bridge; } >"$log" 2>&1; then
        cat "$log" >&2
        echo "bench.sh: build failed (log: $log)" >&2
        exit 1
    fi
    exec "$build/bench/hsipc_bridge_bench" "$@"
fi

# Publish/subscribe: its own program, compared with iceoryx, so it needs
# the comparison packages and RouDi like hsipc_bench.
target=hsipc_bench
if [[ ${1:-} == --pubsub ]]; then
    shift
    target=hsipc_pubsub_bench
fi

# The comparisons: optional, so a missing one stops nothing (need_packages
# exits, hence the subshell).
multiarch=$(gcc -print-multiarch)
if ! (need_packages iox-roudi:iceoryx \
        "/usr/lib/$multiarch/libiceoryx_binding_c.so:libiceoryx-binding-c-dev" \
        /usr/include/boost/interprocess/ipc/message_queue.hpp:libboost-dev \
        gnuplot:gnuplot-nox); then
    echo "bench.sh: going on without them: their rows will say n/a" >&2
fi

# hsipc_bench's results in bench-results/ of the repository unless the
# caller says --out; hsipc_pubsub_bench only prints.
args=("$@")
out="$root/bench-results"
out_given=0
info_only=0
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
        --help | -h | --list) info_only=1 ;;
        --out) out=${args[i + 1]:-$out} out_given=1 ;;
    esac
done
[[ $target != hsipc_bench ]] || ((out_given)) || args+=(--out "$out")

mkdir -p "$build"
log="$build/bench-build.log"
echo "bench.sh: building $target (Release) in $build ..." >&2
if ! { configure "$build" -DCMAKE_BUILD_TYPE=Release -DHSIPC_BUILD_TESTS=OFF -DHSIPC_BUILD_BENCH=ON &&
       cmake --build "$build" -j "$(nproc)" --target "$target"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench.sh: build failed (log: $log)" >&2
    exit 1
fi
bench="$build/bench/$target"
((!info_only)) || exec "$bench" "$@"

# iceoryx needs its daemon. Ours runs only for this script and is stopped by
# the pid we started, never by name.
roudi_pid=
stop_roudi() {
    [[ -n $roudi_pid ]] || return 0
    # A benchmark child killed on Ctrl-C or failure never unregistered:
    # RouDi forgets it after 1.5 s, and iceoryx 2.0.3's RouDi aborts (and
    # leaves its shared memory behind) if it stops while still listing one.
    sleep 2
    kill -TERM "$roudi_pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$roudi_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$roudi_pid" 2>/dev/null || true
    wait "$roudi_pid" 2>/dev/null || true
    roudi_pid=
}
trap stop_roudi EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if command -v iox-roudi >/dev/null 2>&1; then
    if pgrep -x iox-roudi >/dev/null 2>&1; then
        echo "bench.sh: using the iox-roudi already running (its mempools must fit the sizes: bench/roudi.toml)" >&2
    else
        # Its own session, so that a Ctrl-C meant for the benchmark does not
        # stop it behind our back; we stop it ourselves.
        setsid iox-roudi -c "$root/bench/roudi.toml" -l warning >"$build/roudi.log" 2>&1 &
        roudi_pid=$!
        for _ in $(seq 100); do
            grep -q "RouDi is ready" "$build/roudi.log" 2>/dev/null && break
            kill -0 "$roudi_pid" 2>/dev/null || break
            sleep 0.1
        done
        if ! grep -q "RouDi is ready" "$build/roudi.log"; then
            echo "bench.sh: iox-roudi did not start (log: $build/roudi.log); iceoryx rows will say n/a" >&2
            stop_roudi
        fi
    fi
fi

status=0
"$bench" "${args[@]}" || status=$?
if ((status != 0)); then
    echo "bench.sh: $target exited with status $status after $((SECONDS - start)) s" >&2
elif [[ $target == hsipc_bench ]]; then
    echo "bench.sh: finished in $((SECONDS - start)) s, results in $out" >&2
else
    echo "bench.sh: finished in $((SECONDS - start)) s" >&2
fi
exit "$status"
