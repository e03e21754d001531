# SPDX-License-Identifier: MIT
"""Cross-language traffic: examples/echo.c (C, only <hsipc.h>) answers
messages sent from Python, reversing their bytes in place."""

from __future__ import annotations

import os
import subprocess
import time
import unittest

import hsipc

from .support import RegionTest, find_example

WAIT = 10.0


class EchoTest(RegionTest):
    def setUp(self) -> None:
        super().setUp()
        self.echo = find_example("echo")
        if self.echo is None:
            if os.environ.get("HSIPC_EXAMPLES_DIR"):
                self.fail(f"no executable echo in HSIPC_EXAMPLES_DIR={os.environ['HSIPC_EXAMPLES_DIR']}")
            self.skipTest("examples/echo is not built (set HSIPC_EXAMPLES_DIR)")
        self.region = self.attach()
        self.ep = self.region.open("py")

    def start(self, *args: str) -> "subprocess.Popen[bytes]":
        proc = subprocess.Popen([self.echo, self.name, "echo", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.stop, proc)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                self.peer = self.region.lookup("echo")
                return proc
            except hsipc.NotFound:
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.fail(f"echo did not open its endpoint: {proc.communicate()[1]!r}")
                time.sleep(0.005)

    @staticmethod
    def stop(proc: "subprocess.Popen[bytes]") -> None:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    def finish(self, proc: "subprocess.Popen[bytes]") -> None:
        out, err = proc.communicate(timeout=WAIT)
        self.assertEqual(proc.returncode, 0, err.decode())
        self.assertEqual(err, b"")
        with self.assertRaises(hsipc.NotFound):
            self.region.lookup("echo")  # closed at its detach

    def exchange(self, payload: bytes) -> hsipc.Message:
        buf = self.region.alloc(max(len(payload), 1))
        buf.data[:len(payload)] = payload
        offset = buf.offset
        self.ep.send(self.peer, buf, len(payload))
        reply = self.ep.poll(WAIT)
        self.assertIsNotNone(reply, "echo did not answer")
        self.assertEqual(reply.sender, self.peer)
        self.assertEqual(reply.offset, offset)  # the same buffer came back: nothing copied
        return reply

    def test_counted_messages(self) -> None:
        payloads = [b"a", b"hello, C", os.urandom(255), os.urandom(40000), bytes(range(256)) * 4]
        proc = self.start(str(2 * len(payloads)))
        for payload in payloads:
            reply = self.exchange(payload)
            self.assertEqual(bytes(reply.data), payload[::-1])
            # Forward the reply as it is: C reverses it back.
            self.ep.send(self.peer, reply)
            with self.ep.poll(WAIT) as again:
                self.assertEqual(bytes(again.data), payload)
        self.finish(proc)

    def test_until_empty_message(self) -> None:
        proc = self.start()
        for i in range(50):
            payload = f"message {i}".encode()
            with self.exchange(payload) as reply:
                self.assertEqual(bytes(reply.data), payload[::-1])
        with self.exchange(b"") as last:
            self.assertEqual(last.length, 0)
        self.finish(proc)

    def test_c_errors_carry_strerror(self) -> None:
        bad = subprocess.run([self.echo, "no/such name", "echo"], capture_output=True, timeout=WAIT)
        self.assertEqual(bad.returncode, 1)
        self.assertEqual(bad.stderr.decode().strip(), f"echo: attach: {hsipc.strerror(hsipc.Status.EINVAL)}")
        taken = subprocess.run([self.echo, self.name, "py"], capture_output=True, timeout=WAIT)
        self.assertEqual(taken.returncode, 1)
        self.assertEqual(taken.stderr.decode().strip(), f"echo: open: {hsipc.strerror(hsipc.Status.EEXIST)}")
        usage = subprocess.run([self.echo], capture_output=True, timeout=WAIT)
        self.assertEqual(usage.returncode, 2)


if __name__ == "__main__":
    unittest.main()
