# SPDX-License-Identifier: MIT
"""pip install of bindings/python into a fresh venv, then a round trip there.

Needs an interpreter with venv, pip, setuptools and a bdist_wheel (Debian:
python3-venv, python3-pip, python3-setuptools, python3-wheel): the one
running the tests, else python3 on PATH or Debian's /usr/bin/python3 (a
pyenv Python may lack wheel); skipped, saying so, where none has them.
Offline: --no-index, and the venv sees the system's setuptools
(--system-site-packages, --no-build-isolation).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from typing import Optional

import hsipc
from hsipc import _lib

from .support import BINDING_DIR, unique_name

ROUND_TRIP = """
import sys, hsipc
name = sys.argv[1]
with hsipc.attach(name, hsipc.Config(pools=[(256, 4)], inbox_capacity=4)) as region:
    with region.open("venv") as ep:
        buf = region.alloc(5)
        buf.data[:5] = b"hello"
        ep.send(ep.id, buf, 5)
        with ep.recv(timeout=1.0) as msg:
            print(hsipc.__version__, hsipc.__file__, bytes(msg.data).decode())
hsipc.unlink(name)
"""


PROBE = """
import setuptools, venv, pip  # setuptools first: it wants to be distutils
try:
    import setuptools.command.bdist_wheel  # setuptools 70.1 and later
except ImportError:
    import wheel.bdist_wheel
"""


@functools.lru_cache(maxsize=None)
def installer_python() -> Optional[str]:
    """An interpreter that can build and pip-install a wheel offline."""
    for python in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if python and os.access(python, os.X_OK):
            probe = subprocess.run([python, "-c", PROBE], capture_output=True, timeout=60)
            if probe.returncode == 0:
                return python
    return None


class VersionTest(unittest.TestCase):
    def test_version_literal_is_the_headers(self) -> None:
        self.assertEqual(hsipc.__version__, "%d.%d.%d" % _lib.HEADER_VERSION)


class PipInstallTest(unittest.TestCase):
    def run_ok(self, *args: str, **kw) -> str:  # type: ignore[no-untyped-def]
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)
        self.assertEqual(result.returncode, 0, f"{' '.join(args)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result.stdout

    def test_pip_install_into_a_venv(self) -> None:
        base = installer_python()
        if base is None:
            self.skipTest("no python3 here has venv, pip, setuptools and wheel "
                          "(Debian: apt-get install python3-venv python3-pip python3-setuptools python3-wheel)")
        work = tempfile.mkdtemp(prefix="hsipc-py-venv-")
        self.addCleanup(shutil.rmtree, work)
        # Built from a copy: an in-tree build leaves build/ and *.egg-info.
        src = os.path.join(work, "src")
        shutil.copytree(BINDING_DIR, src, ignore=shutil.ignore_patterns(
            "tests", "__pycache__", "build", "*.egg-info", "*.pyc"))
        venv = os.path.join(work, "venv")
        # The venv's pip and setuptools are the system's: no network, no ensurepip.
        self.run_ok(base, "-m", "venv", "--system-site-packages", "--without-pip", venv)
        python = os.path.join(venv, "bin", "python")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env["HSIPC_LIBRARY"] = hsipc.library_path()
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        self.run_ok(python, "-m", "pip", "install", "--no-index", "--no-build-isolation", src, env=env, cwd=work)
        name = unique_name("venv")
        out = self.run_ok(python, "-c", ROUND_TRIP, name, env=env, cwd=work).split()
        self.assertEqual(out[0], hsipc.__version__)
        self.assertTrue(os.path.realpath(out[1]).startswith(os.path.realpath(venv)), out[1])
        self.assertEqual(out[2], "hello")
        shipped = self.run_ok(python, "-c", "import importlib.metadata as m; "
                              "print('\\n'.join(str(f) for f in m.files('hsipc')))", env=env, cwd=work)
        self.assertIn("hsipc/py.typed", shipped)
        self.assertNotIn("tests/", shipped)


if __name__ == "__main__":
    unittest.main()
