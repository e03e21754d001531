# SPDX-License-Identifier: MIT
"""bench.py still runs, end to end, with tiny counts (no timing is checked:
the machines are shared)."""

from __future__ import annotations

import os
import subprocess
import sys
import unittest

from .support import BINDING_DIR, child_env


class BenchSmokeTest(unittest.TestCase):
    def test_tiny_run(self) -> None:
        result = subprocess.run(
            [sys.executable, os.path.join(BINDING_DIR, "bench.py"), "--frames", "8", "--roundtrips", "50",
             "--runs", "1", "--calls", "100"],
            env=child_env(), capture_output=True, text=True, timeout=240)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(result.stderr, "")
        for line in ("hsipc ", "multiprocessing.Queue", "multiprocessing.Pipe", "shared_memory ring",
                     "targets", "hsipc_poll(timeout 0)"):
            self.assertIn(line, result.stdout)


if __name__ == "__main__":
    unittest.main()
