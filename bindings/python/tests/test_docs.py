# SPDX-License-Identifier: MIT
"""docs/python.md, executed: its code must run and print what the page shows.

The page's conventions:
- a ```python block is run, in order, in one namespace shared by the page;
- a ```python block whose first line is ``# file: NAME`` is not run but
  written to NAME in a scratch directory;
- a ```sh block that runs ``python3 NAME`` for such files is run there
  (with bash; other sh blocks are setup for the reader and skipped);
- a ```text block right after a block gives that block's printed output.
Region names in the code ("tutorial", "pingpong") are replaced by unique
ones, so that concurrent test runs cannot meet.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import unittest
from typing import List, Tuple

import hsipc

from .support import DOCS, child_env, unique_name

NAMES = ("tutorial", "pingpong")


def blocks(text: str) -> List[Tuple[str, str]]:
    return [(lang, body) for lang, body in re.findall(r"^```(\w*)\n(.*?)^```\s*$", text, flags=re.S | re.M)]


class DocsTest(unittest.TestCase):
    def setUp(self) -> None:
        with open(DOCS, encoding="utf-8") as f:
            self.blocks = blocks(f.read())
        self.names = {name: unique_name("doc-" + name) for name in NAMES}
        self.dir = tempfile.mkdtemp(prefix="hsipc-py-docs-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.addCleanup(self.remove_regions)

    def remove_regions(self) -> None:
        for name in self.names.values():
            try:
                hsipc.unlink(name)
            except hsipc.NotFound:
                pass

    def rename(self, code: str) -> str:
        for old, new in self.names.items():
            code = code.replace(f'"{old}"', f'"{new}"')
        return code

    def test_every_block(self) -> None:
        namespace: dict = {"__name__": "docs"}
        ran = {"python": 0, "file": 0, "sh": 0}
        for i, (lang, body) in enumerate(self.blocks):
            expected = self.blocks[i + 1][1] if i + 1 < len(self.blocks) and self.blocks[i + 1][0] == "text" \
                else None
            if lang == "python" and body.startswith("# file: "):
                name = body.split("\n", 1)[0][len("# file: "):].strip()
                with open(os.path.join(self.dir, name), "w") as f:
                    f.write(self.rename(body))
                ran["file"] += 1
            elif lang == "python":
                out = io.StringIO()
                with self.subTest(block=i), contextlib.redirect_stdout(out):
                    exec(compile(self.rename(body), f"docs/python.md block {i}", "exec"), namespace)
                if expected is not None:
                    self.assertEqual(out.getvalue(), expected, f"output of block {i}")
                ran["python"] += 1
            elif lang == "sh" and re.search(r"^python3 \w+\.py", body, flags=re.M):
                result = subprocess.run(["bash", "-c", body], cwd=self.dir, env=child_env(),
                                        capture_output=True, text=True, timeout=60)
                self.assertEqual(result.returncode, 0, f"block {i}: {body}\n{result.stderr}")
                if expected is not None:
                    self.assertEqual(result.stdout, expected, f"output of block {i}: {result.stderr}")
                ran["sh"] += 1
        self.assertGreaterEqual(ran["python"], 4)
        self.assertEqual(ran["file"], 3)
        self.assertEqual(ran["sh"], 2)
        for name in self.names.values():
            self.assertFalse(os.path.exists(f"/dev/shm/hsipc.{name}"), f"the docs left {name} behind")


if __name__ == "__main__":
    unittest.main()
