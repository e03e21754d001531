#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every source, build and script file of the project says its license
(SPDX-License-Identifier: MIT) near its top, so a file copied out of the
tree still carries it. Data (fuzz corpora, images) and prose are exempt.

Usage: license_test.py SOURCE_DIR   (skips outside a git checkout)"""
import os
import subprocess
import sys

EXEMPT_DIRS = ("fuzz/corpus/",)
EXEMPT_SUFFIXES = (".md", ".png", ".typed", ".gitignore")
EXEMPT_FILES = ("LICENSE",)


def main() -> int:
    root = sys.argv[1]
    try:
        files = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                               check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        print("license_test: SKIPPED (not a git checkout)")
        return 0
    missing = []
    for f in files:
        if f.startswith(EXEMPT_DIRS) or f.endswith(EXEMPT_SUFFIXES) or f in EXEMPT_FILES:
            continue
        with open(os.path.join(root, f), "rb") as fh:
            head = fh.read(400)
        if b"SPDX-License-Identifier: MIT" not in head:
            missing.append(f)
    for f in missing:
        print(f"{f}: no 'SPDX-License-Identifier: MIT' near the top")
    print(f"license_test: {len(files)} files, {len(missing)} without a license line")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
