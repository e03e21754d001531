# SPDX-License-Identifier: MIT
# Shared by the scripts: find the repository and make sure the Debian
# packages a script needs are installed (installing them when run as root).
# shellcheck shell=bash

repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }

# need_packages CHECK:PACKAGE ... where CHECK is a command name or an
# absolute path that must exist once PACKAGE is installed.
need_packages() {
    local missing=() item check pkg
    for item in "$@"; do
        check=${item%%:*}
        pkg=${item#*:}
        if [[ $check == /* ]]; then
            [[ -e $check ]] || missing+=("$pkg")
        else
            command -v "$check" >/dev/null 2>&1 || missing+=("$pkg")
        fi
    done
    ((${#missing[@]} == 0)) && return 0
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing build dependencies: ${missing[*]}"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        echo "missing build dependencies; install them with:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
}

# configure DIR CMAKE_ARGS...: Ninja where installed, else Make; an existing
# build directory keeps the generator it was made with (CMake refuses to
# switch).
configure() {
    local dir=$1
    shift
    local generator=()
    if [[ ! -f $dir/CMakeCache.txt ]]; then
        if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); else generator=(-G "Unix Makefiles"); fi
    fi
    cmake -S "$(repo_root)" -B "$dir" ${generator[@]+"${generator[@]}"} "$@"
}
