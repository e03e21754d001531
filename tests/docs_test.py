#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Keeps the C samples in the documentation true.

Every ```conf block is a stored configuration file hsipc_config_load must
accept. Every ```c block that is a whole program (it has a main function) is
compiled against the built library as strict C11 and run; a program with
"receiver"/"sender" roles runs as those two processes. Every other ```c
block is a snippet: each of its lines must occur in a whole program of the
same page, so a snippet cannot drift from code that is compiled.

usage: docs_test.py SOURCE_DIR LIBRARY_DIR [EXTRA_CFLAGS...]
(extra flags: the sanitizers the library was built with, so the samples
link their runtime first)
"""
import os
import re
import subprocess
import sys
import tempfile

PAGES = ["README.md", "docs/tutorial-c.md", "docs/concepts.md", "docs/configuration.md"]

CONFIG_CHECKER = r"""
#include <hsipc.h>
#include <stdio.h>
int main(int argc, char **argv) {
    hsipc_config cfg;
    hsipc_config_init(&cfg);
    int rc = hsipc_config_load(&cfg, argv[1]);
    if (rc != HSIPC_OK) fprintf(stderr, "%s: %s\n", argv[1], hsipc_strerror(rc));
    return argc == 2 && rc == HSIPC_OK ? 0 : 1;
}
"""


def normalize(line):
    line = re.sub(r"/\*.*?\*/", "", line)
    return " ".join(line.split())


def c_blocks(text):
    return re.findall(r"```c\n(.*?)```", text, re.S)


EXTRA_CFLAGS = []


def compile_program(src, lib_dir, include_dir, workdir, name):
    path = os.path.join(workdir, name + ".c")
    with open(path, "w") as f:
        f.write(src)
    exe = os.path.join(workdir, name)
    subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", *EXTRA_CFLAGS, "-I", include_dir, path,
                    "-L", lib_dir, "-lhsipc", "-o", exe], check=True)
    return exe


def remove_regions(src):
    """Programs that leave their region for the reader to inspect."""
    for name in re.findall(r'hsipc_attach\("([^"]+)"', src):
        try:
            os.unlink("/dev/shm/hsipc." + name)
        except FileNotFoundError:
            pass


def run_program(exe, src, lib_dir):
    try:
        return run_roles(exe, src, lib_dir)
    finally:
        remove_regions(src)


def run_roles(exe, src, lib_dir):
    env = dict(os.environ, LD_LIBRARY_PATH=lib_dir)
    if '"receiver"' in src and '"sender"' in src:
        receiver = subprocess.Popen([exe, "receiver"], env=env, stdout=subprocess.PIPE, text=True)
        sender = subprocess.run([exe, "sender"], env=env, timeout=60)
        out, _ = receiver.communicate(timeout=60)
        if sender.returncode or receiver.returncode:
            raise RuntimeError(f"{exe}: sender {sender.returncode}, receiver {receiver.returncode}")
        return out
    return subprocess.run([exe], env=env, check=True, timeout=60, stdout=subprocess.PIPE, text=True).stdout


def main():
    source_dir, lib_dir = sys.argv[1], sys.argv[2]
    EXTRA_CFLAGS.extend(a for a in sys.argv[3:] if a)
    include_dir = os.path.join(source_dir, "include")
    checked = failed = 0
    with tempfile.TemporaryDirectory() as workdir:
        for page in PAGES:
            path = os.path.join(source_dir, page)
            if not os.path.exists(path):
                continue
            blocks = c_blocks(open(path).read())
            programs = [b for b in blocks if re.search(r"\bint main\(", b)]
            program_lines = {normalize(l) for p in programs for l in p.splitlines()}
            for i, src in enumerate(programs):
                checked += 1
                name = re.sub(r"\W", "_", page) + f"_{i}"
                try:
                    exe = compile_program(src, lib_dir, include_dir, workdir, name)
                    run_program(exe, src, lib_dir)
                    print(f"ok: {page}: program {i + 1} compiled and ran")
                except (subprocess.SubprocessError, RuntimeError) as e:
                    failed += 1
                    print(f"FAIL: {page}: program {i + 1}: {e}")
            for j, conf in enumerate(re.findall(r"```conf\n(.*?)```", open(path).read(), re.S)):
                checked += 1
                conf_path = os.path.join(workdir, f"sample{j}.conf")
                with open(conf_path, "w") as f:
                    f.write(conf)
                checker = compile_program(CONFIG_CHECKER, lib_dir, include_dir, workdir, "config_checker")
                env = dict(os.environ, LD_LIBRARY_PATH=lib_dir)
                if subprocess.run([checker, conf_path], env=env).returncode != 0:
                    failed += 1
                    print(f"FAIL: {page}: configuration sample {j + 1} is refused")
                else:
                    print(f"ok: {page}: configuration sample {j + 1} loads")
            for src in blocks:
                if src in programs:
                    continue
                checked += 1
                missing = [l for l in src.splitlines() if normalize(l) and normalize(l) not in program_lines]
                if missing:
                    failed += 1
                    print(f"FAIL: {page}: snippet lines not in the page's program: {missing}")
                else:
                    print(f"ok: {page}: snippet is part of the program")
    print(f"{checked - failed} passed, {failed} failed")
    return 1 if failed or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
