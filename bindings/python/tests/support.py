# SPDX-License-Identifier: MIT
"""Shared helpers: unique names, paths into the source and build trees, and a
TestCase that gives each test its own region and removes it afterwards."""

from __future__ import annotations

import glob
import itertools
import os
import sys
import unittest
from typing import Optional

import hsipc

BINDING_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(os.path.dirname(BINDING_DIR))
HEADER = os.environ.get("HSIPC_HEADER") or os.path.join(REPO_ROOT, "include", "hsipc.h")
DOCS = os.path.join(REPO_ROOT, "docs", "python.md")
SHM = "/dev/shm"

_counter = itertools.count()


def unique_name(tag: str = "t") -> str:
    """A region or endpoint name no other test run uses: pyt-PID-TAG-N."""
    return f"pyt-{os.getpid()}-{tag}-{next(_counter)}"


def leftovers() -> list:
    """Shared memory objects this test process created and did not remove."""
    return sorted(glob.glob(os.path.join(SHM, f"hsipc.pyt-{os.getpid()}-*")))


def child_env() -> dict:
    """Environment for a Python child process that must import this hsipc."""
    env = dict(os.environ)
    env["PYTHONPATH"] = BINDING_DIR + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["HSIPC_LIBRARY"] = hsipc.library_path()
    return env


def find_example(name: str) -> Optional[str]:
    """The built example program `name`: in HSIPC_EXAMPLES_DIR, else beside
    the library in use, else in the nearest build*/examples above the tests."""
    where = os.environ.get("HSIPC_EXAMPLES_DIR")
    if where:
        path = os.path.join(where, name)
        return path if os.access(path, os.X_OK) else None
    lib_dir = os.path.dirname(os.path.realpath(hsipc.library_path()))
    path = os.path.join(lib_dir, "examples", name)
    if os.access(path, os.X_OK):
        return path
    here = BINDING_DIR
    while True:
        found = sorted(glob.glob(os.path.join(here, "build*", "examples", name)),
                       key=lambda p: (not p.startswith(os.path.join(here, "build-release")), p))
        found = [p for p in found if os.access(p, os.X_OK)]
        if found:
            return found[0]
        if os.path.dirname(here) == here:
            return None
        here = os.path.dirname(here)


class RegionTest(unittest.TestCase):
    """Each test gets `self.name` and, through `self.attach()`, regions that
    are detached and unlinked however the test ends."""

    config: Optional[hsipc.Config] = hsipc.Config(pools=[(256, 64), (65536, 8)], inbox_capacity=64)

    def setUp(self) -> None:
        self.name = unique_name(self._testMethodName[5:25].replace("_", "-"))
        self.addCleanup(self._remove, self.name)

    def attach(self, config: Optional[hsipc.Config] = None, name: Optional[str] = None) -> hsipc.Region:
        region = hsipc.attach(name or self.name, config if config is not None else self.config)
        self.addCleanup(region.detach)
        return region

    @staticmethod
    def _remove(name: str) -> None:
        try:
            hsipc.unlink(name)
        except hsipc.NotFound:
            pass

    def assertRaisesStatus(self, cls: type, status: int):  # type: ignore[no-untyped-def]
        """assertRaises(cls) that also checks .code (the C status)."""
        test = self

        class _Context:
            def __enter__(self):  # type: ignore[no-untyped-def]
                self.inner = test.assertRaises(cls)
                self.cm = self.inner.__enter__()
                return self.cm

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                handled = self.inner.__exit__(*exc)
                test.assertEqual(self.cm.exception.code, status, str(self.cm.exception))
                test.assertEqual(self.cm.exception.message, hsipc.strerror(status))
                return handled

        return _Context()


def python() -> str:
    return sys.executable
