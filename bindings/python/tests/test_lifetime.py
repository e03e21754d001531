# SPDX-License-Identifier: MIT
"""Views derived from buffer data outlive the region without crashing.

Each risky case runs in a child interpreter under ``-X dev``, so that a
regression (a segfault) fails its test instead of killing the runner. The
numpy cases need numpy (Debian: python3-numpy); where the interpreter
running the tests lacks it they run under another python3 that has it,
and are skipped, saying so, where none has.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import unittest
from typing import Optional

import hsipc

from .support import RegionTest, child_env, unique_name

PRELUDE = """
import ctypes, gc, sys, threading, time
import hsipc
name = sys.argv[1]
region = hsipc.attach(name, hsipc.Config(pools=[(1 << 16, 4)], inbox_capacity=8))
ep = region.open("e")
def message(payload=b"hello"):
    buf = region.alloc(len(payload))
    buf.data[:len(payload)] = payload
    ep.send(ep.id, buf, len(payload))
    return ep.poll(1.0)
"""

CASES = {
    "numpy_past_detach": """
        import numpy as np
        buf = region.alloc(1 << 16)
        buf.data[:3] = b"abc"
        a = np.frombuffer(buf.data, np.uint8)
        region.detach()
        print(int(a.sum()), bytes(a[:3]))
    """,
    "numpy_of_message_past_detach": """
        import numpy as np
        msg = message(b"xyz")
        a = np.frombuffer(msg.data, np.uint8)
        region.detach()
        a[:] = 1   # writes go to private memory now
        print(int(a.sum()))
    """,
    "slice_past_detach": """
        msg = message()
        part = msg.data[1:4]
        region.detach()
        print(bytes(part), part.tolist())
    """,
    "memoryview_past_detach": """
        msg = message()
        alias = memoryview(msg.data)
        region.detach()
        alias[0] = 65
        print(bytes(alias))
    """,
    "ctypes_past_detach": """
        buf = region.alloc(64)
        raw = (ctypes.c_char * 64).from_buffer(buf.data)
        region.detach()
        raw[0] = b"x"
        print(raw.raw[:2])
    """,
    "slice_past_gc": """
        msg = message()
        part = msg.data[0:5]
        del msg, ep, region
        gc.collect()
        print(bytes(part))
    """,
    "numpy_past_gc": """
        import numpy as np
        buf = region.alloc(1 << 16)
        a = np.frombuffer(buf.data, np.uint8)
        del buf, ep, region
        gc.collect()
        print(int(a.sum()))
    """,
    "numpy_reader_while_detaching": """
        import numpy as np
        buf = region.alloc(1 << 16)
        a = np.frombuffer(buf.data, np.uint8)
        started = threading.Event()
        stop = threading.Event()
        def reader():
            while not stop.is_set():
                a.sum()   # numpy lets go of the GIL in here
                started.set()
        t = threading.Thread(target=reader)
        t.start()
        started.wait()
        region.detach()
        time.sleep(0.05)
        stop.set()
        t.join()
        print(int(a.sum()))
    """,
    "detached_view_no_longer_aliases_the_region": """
        peer = hsipc.attach(name)   # as another process would see the region
        mine = region.alloc(8)
        part = mine.data[:8]
        part[:3] = b"abc"
        off = mine.offset
        region.detach()
        part[:3] = b"xyz"   # lands in private memory, not in the region
        probe = peer.alloc(8)   # the same buffer, given back at detach
        assert probe.offset == off, (probe.offset, off)
        print(bytes(part[:3]), bytes(probe.data[:3]))
    """,
    "slice_past_release": """
        buf = region.alloc(64)
        part = buf.data[:4]
        buf.release()
        part[:] = b"abcd"   # the caller's duty: the buffer may be reused
        region.detach()
        print(bytes(part))
    """,
    "shared_views_past_detach": """
        other = region.open("other")
        ep.subscribe("t")
        other.subscribe("t")
        buf = region.alloc(8)
        buf.data[:3] = b"pub"
        ep.publish("t", buf, 3)
        a, b = ep.poll(1.0), other.poll(1.0)
        part, alias = a.data[1:], memoryview(b.data)
        region.detach()
        print(bytes(part), bytes(alias), part.readonly, alias.readonly)
    """,
    "numpy_of_shared_message_past_detach": """
        import numpy as np
        ep.subscribe("t")
        buf = region.alloc(8)
        buf.data[:3] = b"pub"
        ep.publish("t", buf, 3)
        msg = ep.poll(1.0)
        a = np.frombuffer(msg.data, np.uint8)
        del msg   # released: its reference goes, the buffer with it
        gc.collect()
        region.detach()
        print(int(a.sum()), a.flags.writeable)
    """,
}

EXPECTED = {
    "numpy_past_detach": "0 b'\\x00\\x00\\x00'",
    "numpy_of_message_past_detach": "3",
    "slice_past_detach": "b'\\x00\\x00\\x00' [0, 0, 0]",
    "memoryview_past_detach": "b'A\\x00\\x00\\x00\\x00'",
    "ctypes_past_detach": "b'x\\x00'",
    "slice_past_gc": "b'\\x00\\x00\\x00\\x00\\x00'",
    "numpy_past_gc": "0",
    "numpy_reader_while_detaching": "0",
    "slice_past_release": "b'\\x00\\x00\\x00\\x00'",
    "detached_view_no_longer_aliases_the_region": "b'xyz' b'abc'",
    "shared_views_past_detach": "b'\\x00\\x00' b'\\x00\\x00\\x00' True True",
    "numpy_of_shared_message_past_detach": "0 False",
}


def _has_numpy(python: str) -> bool:
    try:
        return subprocess.run([python, "-c", "import numpy"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=None)
def numpy_python() -> Optional[str]:
    """An interpreter with numpy: this one, else python3 on PATH or Debian's."""
    for python in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if python and os.access(python, os.X_OK) and _has_numpy(python):
            return python
    return None


class DerivedViewsOutliveTheRegion(unittest.TestCase):
    def run_case(self, case: str) -> None:
        python = sys.executable
        if "numpy" in case:
            python = numpy_python()
            if python is None:
                self.skipTest("numpy is not installed for any python3 here (Debian: apt-get install python3-numpy)")
        code = PRELUDE + textwrap.dedent(CASES[case])
        name = unique_name("life")
        self.addCleanup(RegionTest._remove, name)
        result = subprocess.run([python, "-X", "dev", "-c", code, name], env=child_env(),
                                capture_output=True, text=True, timeout=120)
        if result.returncode < 0:
            self.fail(f"{case}: the interpreter ({python}) died of {signal.Signals(-result.returncode).name}\n"
                      f"{result.stderr[-3000:]}")
        self.assertEqual(result.returncode, 0, f"{case}:\n{result.stderr[-3000:]}")
        self.assertEqual(result.stdout.strip(), EXPECTED[case], result.stderr[-3000:])

    def test_numpy_past_detach(self) -> None:
        self.run_case("numpy_past_detach")

    def test_numpy_of_message_past_detach(self) -> None:
        self.run_case("numpy_of_message_past_detach")

    def test_slice_past_detach(self) -> None:
        self.run_case("slice_past_detach")

    def test_memoryview_past_detach(self) -> None:
        self.run_case("memoryview_past_detach")

    def test_ctypes_past_detach(self) -> None:
        self.run_case("ctypes_past_detach")

    def test_slice_past_gc(self) -> None:
        self.run_case("slice_past_gc")

    def test_numpy_past_gc(self) -> None:
        self.run_case("numpy_past_gc")

    def test_numpy_reader_while_detaching(self) -> None:
        self.run_case("numpy_reader_while_detaching")

    def test_detached_view_no_longer_aliases_the_region(self) -> None:
        self.run_case("detached_view_no_longer_aliases_the_region")

    def test_slice_past_release(self) -> None:
        self.run_case("slice_past_release")

    def test_shared_views_past_detach(self) -> None:
        self.run_case("shared_views_past_detach")

    def test_numpy_of_shared_message_past_detach(self) -> None:
        self.run_case("numpy_of_shared_message_past_detach")


def _mappings_of(name: str) -> int:
    with open("/proc/self/maps") as maps:
        return sum(1 for line in maps if line.rstrip().endswith("/hsipc." + name)
                   or line.rstrip().endswith("/hsipc." + name + " (deleted)"))


class BindingMappingTest(RegionTest):
    config = hsipc.Config(pools=[(256, 4)], inbox_capacity=8)

    def test_detach_unmaps_both_mappings(self) -> None:
        region = self.attach()
        region.alloc(8).release()
        self.assertEqual(_mappings_of(self.name), 2)  # the library's and the binding's
        region.detach()
        self.assertEqual(_mappings_of(self.name), 0)

    def test_region_replaced_under_the_name_before_first_use(self) -> None:
        # The binding maps the object the library mapped, not whatever now
        # has the name: it finds it through the library's descriptor.
        old = self.attach()
        hsipc.unlink(self.name)
        new = self.attach()
        buf = old.alloc(8)
        buf.data[:4] = b"old!"
        where = hsipc._lib.fast.hsipc_ptr(old._handle, buf.offset)
        self.assertEqual(ctypes.string_at(where, 4), b"old!")
        self.assertEqual(new.pool_stats()[0].held, 0)
        buf.release()


if __name__ == "__main__":
    unittest.main()
