# SPDX-License-Identifier: MIT
"""Traffic between Python processes. Every child attaches anew: a handle is
never used across fork() (in a forked child the inherited one is Closed)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import struct
import time
import unittest

import hsipc

from .support import RegionTest

WAIT = 10.0  # seconds: generous, the machines are shared


def wait_for_endpoint(region: hsipc.Region, name: str, proc=None) -> int:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return region.lookup(name)
        except hsipc.NotFound:
            if time.monotonic() > deadline or (proc is not None and not proc.is_alive()):
                raise
            time.sleep(0.005)


# -- children (module level, so that 'spawn' can import them)

def upper_server(region_name: str, count: int) -> None:
    """Answers `count` messages with their bytes in upper case, in place."""
    with hsipc.attach(region_name) as region, region.open("server") as ep:
        for _ in range(count):
            msg = ep.poll(WAIT)
            if msg is None:
                raise SystemExit(3)
            msg.data[:] = bytes(msg.data).upper()
            ep.send(msg.sender, msg)


def burst_sender(region_name: str, count: int) -> None:
    """Sends `count` numbered messages to "sink" as fast as the inbox allows."""
    with hsipc.attach(region_name) as region, region.open("burst") as ep:
        sink = wait_for_endpoint(region, "sink")
        for i in range(count):
            buf = region.alloc(8)
            struct.pack_into("<Q", buf.data, 0, i)
            while True:
                try:
                    ep.send(sink, buf, 8)
                    break
                except hsipc.Full:  # the sender still owns it: try again
                    time.sleep(0.0002)


def holder(region_name: str, ready) -> None:  # type: ignore[no-untyped-def]
    """Holds buffers and queues two messages to "sink", then waits to be killed."""
    region = hsipc.attach(region_name)
    ep = region.open("doomed")
    held = [region.alloc(8) for _ in range(3)]
    sink = region.lookup("sink")
    for _ in range(2):
        ep.send(sink, region.alloc(8), 8)
    ready.send(len(held))
    time.sleep(60)


class TwoProcessesTest(RegionTest):
    config = hsipc.Config(pools=[(256, 256), (65536, 8)], inbox_capacity=64)

    def round_trips(self, method: str) -> None:
        region = self.attach()
        ctx = multiprocessing.get_context(method)
        count = 200
        proc = ctx.Process(target=upper_server, args=(self.name, count))
        proc.start()
        self.addCleanup(proc.join, WAIT)
        self.addCleanup(lambda: proc.is_alive() and proc.kill())
        server = wait_for_endpoint(region, "server", proc)
        with region.open("client") as ep:
            for i in range(count):
                payload = os.urandom(1 + i % 300).hex().encode()[: 1 + i % 300]
                size = len(payload)
                buf = region.alloc(size)
                buf.data[:size] = payload
                ep.send(server, buf, size)
                with ep.poll(WAIT) as reply:
                    self.assertEqual(bytes(reply.data), payload.upper())
                    self.assertEqual(reply.sender, server)
        proc.join(WAIT)
        self.assertEqual(proc.exitcode, 0)

    def test_round_trips_spawn(self) -> None:
        self.round_trips("spawn")

    def test_round_trips_fork(self) -> None:
        self.round_trips("fork")

    def test_burst_keeps_order_through_a_full_inbox(self) -> None:
        region = self.attach()
        count = 3000
        with region.open("sink") as sink:
            proc = multiprocessing.get_context("spawn").Process(target=burst_sender, args=(self.name, count))
            proc.start()
            self.addCleanup(lambda: proc.is_alive() and proc.kill())
            i = 0
            while i < count:  # in batches
                batch = sink.poll_many(64, WAIT)
                self.assertTrue(batch)
                for msg in batch:
                    self.assertEqual(struct.unpack_from("<Q", msg.data)[0], i)
                    msg.release()
                    i += 1
            proc.join(WAIT)
            self.assertEqual(proc.exitcode, 0)

    def test_killed_process_is_reaped(self) -> None:
        region = self.attach()
        sink = region.open("sink")
        ctx = multiprocessing.get_context("fork")
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=holder, args=(self.name, child_end))
        proc.start()
        self.addCleanup(lambda: proc.is_alive() and proc.kill())
        self.assertTrue(parent_end.poll(WAIT))
        self.assertEqual(parent_end.recv(), 3)
        proc.kill()
        proc.join(WAIT)
        self.assertEqual(proc.exitcode, -signal.SIGKILL)
        self.assertGreaterEqual(region.reap(), 4)  # 3 buffers and its endpoint
        stats = region.pool_stats()[0]
        self.assertEqual((stats.held, stats.queued), (0, 2))  # its messages to us stay
        with self.assertRaises(hsipc.NotFound):
            region.lookup("doomed")
        for _ in range(2):
            sink.poll(0).release()
        self.assertEqual(region.pool_stats()[0].free, region.pool_stats()[0].buffer_count)

    def test_forked_child_attaches_anew(self) -> None:
        region = self.attach()
        ep = region.open("parent")
        buf = region.alloc(8)
        buf.data[:6] = b"parent"
        pid = os.fork()
        if pid == 0:  # the child: leaves through os._exit, whatever happens
            code = 10
            try:
                code = 11
                inherited_closed = region.closed and ep.closed and buf.spent
                try:
                    buf.data[0]
                    code = 12
                    raise SystemExit
                except ValueError:
                    pass
                for call in (lambda: region.alloc(1), lambda: ep.poll(0), buf.release):
                    try:
                        call()
                        code = 13
                        raise SystemExit
                    except hsipc.Closed:
                        pass
                with hsipc.attach(self.name) as mine, mine.open("child") as cep:
                    b = mine.alloc(4)
                    b.data[:4] = b"fork"
                    cep.send(mine.lookup("parent"), b, 4)
                code = 0 if inherited_closed else 14
            except BaseException:
                pass
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        with ep.poll(WAIT) as msg:
            self.assertEqual(bytes(msg.data), b"fork")
        self.assertFalse(buf.spent)  # the child's GC and exit did not touch it
        self.assertEqual(bytes(buf.data[:6]), b"parent")


if __name__ == "__main__":
    unittest.main()
