#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fails when the Debian symbols file and a built libhsipc.so disagree on the
# exported symbols, so a new or removed hsipc_* function cannot ship with a
# stale symbols file (dependents would get wrong versioned dependencies).
#   tests/install/check-symbols.sh LIBRARY SYMBOLS_FILE
set -euo pipefail
if [[ $# -ne 2 ]]; then
    echo "usage: check-symbols.sh LIBRARY SYMBOLS_FILE" >&2
    exit 2
fi
# name@version of each defined dynamic symbol, every version of a symbol
# with several (hsipc_config_init@HSIPC_0, hsipc_config_init@@HSIPC_0.1:
# '@@' marks the default); each version node (HSIPC_0, no @) is listed as
# HSIPC_0@HSIPC_0, as dpkg-gensymbols does.
exported=$(nm -D --defined-only "$1" | awk '{print $3}' | sed 's/@@*/@/' |
    awk -F@ '{print ($2 == "" ? $1 "@" $1 : $0)}' | LC_ALL=C sort)
# Symbol lines start with a space: " name@version minimum-version".
listed=$(awk '/^ / {print $1}' "$2" | LC_ALL=C sort)
if [[ $exported != "$listed" ]]; then
    echo "check-symbols: $2 does not match $1's exports (< exported only, > listed only):" >&2
    diff <(echo "$exported") <(echo "$listed") | grep '^[<>]' >&2
    exit 1
fi
echo "check-symbols: $(wc -l <<<"$exported") symbols agree"
