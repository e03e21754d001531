# SPDX-License-Identifier: MIT
"""Finding and loading libhsipc."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import hsipc
from hsipc import _lib

from .support import BINDING_DIR, child_env


def run_import(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "import hsipc; print(hsipc.library_path())"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tempfile.gettempdir())


class LoadTest(unittest.TestCase):
    def test_hsipc_library_is_used_and_only_it(self) -> None:
        env = child_env()
        env["HSIPC_LIBRARY"] = "/nonexistent/libhsipc.so.0"
        result = run_import(env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ImportError", result.stderr)
        self.assertIn("/nonexistent/libhsipc.so.0", result.stderr)

    def test_too_old_library_is_refused(self) -> None:
        self.assertEqual(_lib._missing(ctypes.CDLL(None)), list(_lib.PROTOTYPES))
        env = child_env()
        env["HSIPC_LIBRARY"] = "libc.so.6"
        result = run_import(env)
        self.assertIn("too old, lacks hsipc_strerror", result.stderr)

    def test_without_hsipc_library_something_is_found(self) -> None:
        env = child_env()
        del env["HSIPC_LIBRARY"]
        result = run_import(env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.exists(result.stdout.strip()))

    def test_build_tree_search_prefers_build_release(self) -> None:
        root = tempfile.mkdtemp(prefix="hsipc-py-")
        self.addCleanup(shutil.rmtree, root)
        for build in ("build", "build-debug", "build-release", "not-a-build"):
            os.makedirs(os.path.join(root, build))
            open(os.path.join(root, build, _lib.SONAME), "w").close()
        package = os.path.join(root, "bindings", "python", "hsipc")
        os.makedirs(package)
        found = [os.path.relpath(p, root) for p in _lib._build_tree_candidates(package)]
        self.assertEqual(found[0], os.path.join("build-release", _lib.SONAME))
        self.assertEqual(sorted(found[1:]), sorted(os.path.join(b, _lib.SONAME) for b in ("build", "build-debug")))
        # The nearest level with candidates wins: from a build directory's
        # sibling, the same ones.
        self.assertEqual(_lib._build_tree_candidates(os.path.join(root, "not-a-build")),
                         [os.path.join(root, f) for f in found])

    def test_binding_dir_is_a_package(self) -> None:
        self.assertEqual(os.path.dirname(hsipc.__file__), os.path.join(BINDING_DIR, "hsipc"))


if __name__ == "__main__":
    unittest.main()
