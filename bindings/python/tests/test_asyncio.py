# SPDX-License-Identifier: MIT
"""The endpoint's file descriptor: fileno() and arm() with selectors and
select, and Endpoint.arecv() in an asyncio event loop.

The loops here count the readers arecv registers (CountingLoop), so every
test also checks that none is left behind, and the tests that must be woken
by something set arecv's periodic re-check far beyond their own limits: a
missing wake-up then fails the test instead of being covered up by it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import selectors
import struct
import sys
import threading
import time
import unittest
from typing import Any, Awaitable, Callable, Optional, Set
from unittest import mock

import hsipc
from hsipc import _core

from .support import RegionTest

WAIT = 10.0  # seconds: generous, the machines are shared


class CountingLoop(asyncio.SelectorEventLoop):
    """A selector loop that tracks the readers registered through its
    public add_reader/remove_reader (its own self-pipe reader is not)."""

    def __init__(self) -> None:
        super().__init__()
        self.readers: Set[int] = set()
        self.added = 0

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:
        self.readers.add(fd)
        self.added += 1
        super().add_reader(fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        self.readers.discard(fd)
        return super().remove_reader(fd)


def open_fds() -> Set[str]:
    return set(os.listdir("/proc/self/fd"))


def send_value(region: hsipc.Region, sender: hsipc.Endpoint, to: int, value: int) -> None:
    """Sends `value` as 8 bytes, waiting while the inbox is full."""
    buf = region.alloc(8, timeout=WAIT)
    struct.pack_into("<Q", buf.data, 0, value)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            sender.send(to, buf, 8)
            return
        except hsipc.Full:  # still ours: try again
            if time.monotonic() > deadline:
                raise
            time.sleep(0.0005)


def value_of(msg: hsipc.Message) -> int:
    with msg:
        return struct.unpack_from("<Q", msg.data)[0]


def later(delay: float, fn: Callable[[], Any]) -> threading.Thread:
    """Runs fn in a thread after `delay` seconds."""
    def run() -> None:
        time.sleep(delay)
        fn()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


# -- children (module level, so that 'spawn' can import them)

def delayed_sender(region_name: str, count: int, pause: float) -> None:
    """Sends `count` numbered messages to "sink", `pause` seconds apart."""
    with hsipc.attach(region_name) as region, region.open("sender") as ep:
        sink = region.lookup("sink", timeout=WAIT)
        for i in range(count):
            time.sleep(pause)
            send_value(region, ep, sink, i)


class AsyncTest(RegionTest):
    def setUp(self) -> None:
        super().setUp()
        self.region = self.attach()
        self.ep = self.region.open("sink")
        self.sender = self.region.open("sender")
        # What the region makes on first need (the fd, Python's mapping, the
        # socket that sends wake-ups), made now so that open_fds() before and
        # after a test sees only arecv's own.
        self.assertTrue(self.ep.arm())
        self.send(0)
        self.assertEqual(value_of(self.ep.poll(0)), 0)

    def run_loop(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        """Runs fn() in a new CountingLoop; checks that it left no reader
        registered and no descriptor open."""
        fds = open_fds()
        loop = CountingLoop()
        self.loop = loop
        try:
            result = loop.run_until_complete(asyncio.wait_for(fn(), WAIT))
        finally:
            readers = set(loop.readers)
            loop.close()
        self.assertEqual(readers, set(), "arecv left a reader registered")
        self.assertEqual(open_fds() - fds, set(), "arecv left a descriptor open")
        return result

    def send(self, value: int) -> None:
        send_value(self.region, self.sender, self.ep.id, value)

    def queued(self) -> int:
        return sum(s.queued for s in self.region.pool_stats())


class FilenoTest(AsyncTest):
    def test_fileno_is_stable_and_closed_with_the_endpoint(self) -> None:
        fd = self.ep.fileno()
        self.assertIsInstance(fd, int)
        self.assertGreaterEqual(fd, 0)
        self.assertEqual(self.ep.fileno(), fd)
        other = self.region.open("other")
        self.assertNotEqual(other.fileno(), fd)
        self.ep.close()
        with self.assertRaises(hsipc.Closed):
            self.ep.fileno()
        with self.assertRaises(hsipc.Closed):
            self.ep.arm()
        self.region.detach()
        with self.assertRaises(hsipc.Closed):
            other.fileno()

    def test_selectors(self) -> None:
        with selectors.DefaultSelector() as sel:
            key = sel.register(self.ep, selectors.EVENT_READ)  # through fileno()
            self.assertEqual(key.fd, self.ep.fileno())
            self.assertTrue(self.ep.arm())
            self.assertEqual(sel.select(timeout=0), [])
            later(0.05, lambda: self.send(7))
            events = sel.select(timeout=WAIT)
            self.assertEqual([k.fileobj for k, _ in events], [self.ep])
            self.assertEqual(value_of(self.ep.poll(0)), 7)
            # The poll cleared the readiness: nothing to see until armed and sent to.
            self.assertEqual(sel.select(timeout=0), [])
            self.assertTrue(self.ep.arm())
            self.assertEqual(sel.select(timeout=0.05), [])
            sel.unregister(self.ep)

    def test_select(self) -> None:
        self.assertTrue(self.ep.arm())
        self.assertEqual(select.select([self.ep], [], [], 0)[0], [])
        self.send(1)
        self.assertEqual(select.select([self.ep], [], [], WAIT)[0], [self.ep])
        self.assertEqual(value_of(self.ep.poll(0)), 1)
        self.assertEqual(select.select([self.ep], [], [], 0)[0], [])

    def test_arm_says_whether_a_message_waits(self) -> None:
        self.assertIs(self.ep.arm(), True)   # empty: armed
        self.assertIs(self.ep.arm(), True)   # again: still fine
        self.send(3)
        self.assertIs(self.ep.arm(), False)  # one waits: poll it, do not wait
        self.assertIs(self.ep.arm(), False)
        self.assertEqual(self.queued(), 1)   # arm takes nothing
        self.assertEqual(value_of(self.ep.poll(0)), 3)
        self.assertIs(self.ep.arm(), True)

    def test_arm_refused_while_a_thread_polls(self) -> None:
        result: list = []
        t = threading.Thread(target=lambda: result.append(self.ep.poll(WAIT)), daemon=True)
        t.start()
        self.addCleanup(t.join, WAIT)
        deadline = time.monotonic() + WAIT
        while not self.ep._lock.locked() and time.monotonic() < deadline:
            time.sleep(0.001)
        with self.assertRaises(hsipc.InvalidArgument):
            self.ep.arm()
        self.send(5)
        t.join(WAIT)
        self.assertEqual(value_of(result[0]), 5)


class ArecvTest(AsyncTest):
    def test_returns_a_waiting_message_without_a_reader(self) -> None:
        self.send(11)

        async def body() -> int:
            return value_of(await self.ep.arecv(timeout=0))

        self.assertEqual(self.run_loop(body), 11)
        self.assertEqual(self.loop.added, 0)

    def test_from_a_sender_thread(self) -> None:
        async def body() -> int:
            later(0.1, lambda: self.send(42))
            msg = await self.ep.arecv()
            self.assertEqual(msg.sender, self.sender.id)
            self.assertEqual(msg.length, 8)
            return value_of(msg)

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), 42)
        self.assertGreaterEqual(self.loop.added, 1)

    def test_from_a_sender_process(self) -> None:
        self.sender.close()  # the child opens "sender"
        count = 20
        proc = multiprocessing.get_context("spawn").Process(target=delayed_sender,
                                                             args=(self.name, count, 0.01))
        proc.start()
        self.addCleanup(lambda: proc.is_alive() and proc.kill())

        async def body() -> list:
            got = []
            sender = self.region.lookup("sender", timeout=WAIT)  # gone once the child is done
            for _ in range(count):
                msg = await self.ep.arecv(timeout=WAIT)
                self.assertEqual(msg.sender, sender)
                got.append(value_of(msg))
            return got

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), list(range(count)))
        proc.join(WAIT)
        self.assertEqual(proc.exitcode, 0)

    def test_many_messages_in_order(self) -> None:
        count = 2000

        def produce() -> None:
            for i in range(count):
                self.send(i)
                if i % 100 == 0:
                    time.sleep(0.002)  # so that the receiver also waits now and then

        async def body() -> list:
            t = threading.Thread(target=produce, daemon=True)
            t.start()
            got = [value_of(await self.ep.arecv(timeout=WAIT)) for _ in range(count)]
            t.join(WAIT)
            return got

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), list(range(count)))
        self.assertEqual(self.queued(), 0)

    def test_timeout_raises_and_takes_nothing(self) -> None:
        async def body() -> None:
            for timeout in (0, 0.2):
                start = time.monotonic()
                with self.assertRaises(hsipc.Again) as cm:
                    await self.ep.arecv(timeout=timeout)
                elapsed = time.monotonic() - start
                self.assertGreaterEqual(elapsed, timeout)
                self.assertLess(elapsed, timeout + 5)
                e = cm.exception
                self.assertIsInstance(e, TimeoutError)
                if sys.version_info >= (3, 11):  # since when they are one class
                    self.assertIsInstance(e, asyncio.TimeoutError)
                self.assertEqual(e.code, hsipc.Status.EAGAIN)
                self.assertIn("arecv on endpoint 'sink'", str(e))
            # Nothing consumed, nothing broken: the next message is there for
            # a poll, and arecv works on.
            self.send(1)
            self.assertEqual(value_of(self.ep.poll(0)), 1)
            later(0.05, lambda: self.send(2))
            self.assertEqual(value_of(await self.ep.arecv(timeout=WAIT)), 2)

        self.run_loop(body)

    def test_timeout_spanning_several_rechecks(self) -> None:
        async def body() -> None:
            with self.assertRaises(TimeoutError):
                await self.ep.arecv(timeout=0.3)

        with mock.patch.object(_core, "_AWAIT_RECHECK", 0.05):
            self.run_loop(body)
        self.assertGreaterEqual(self.loop.added, 3)

    def test_bad_timeouts(self) -> None:
        async def body() -> None:
            for bad in (-1, -0.5, float("nan")):
                with self.assertRaises(hsipc.InvalidArgument):
                    await self.ep.arecv(timeout=bad)
            for wrong in ("1", True):
                with self.assertRaises(TypeError):
                    await self.ep.arecv(timeout=wrong)  # type: ignore[arg-type]
            self.send(9)  # infinity means no limit
            self.assertEqual(value_of(await self.ep.arecv(timeout=float("inf"))), 9)

        self.run_loop(body)

    def test_cancel_while_waiting_leaves_the_next_message(self) -> None:
        async def body() -> int:
            task = asyncio.ensure_future(self.ep.arecv())
            await asyncio.sleep(0.05)
            self.assertFalse(task.done())
            self.assertEqual(len(self.loop.readers), 1)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.assertEqual(self.loop.readers, set())
            self.send(5)
            return value_of(await self.ep.arecv(timeout=0))

        self.assertEqual(self.run_loop(body), 5)

    def test_cancel_after_the_wake_up_leaves_the_message(self) -> None:
        async def body() -> int:
            task = asyncio.ensure_future(self.ep.arecv())
            await asyncio.sleep(0.05)
            self.send(6)
            # The fd is readable; the task has not run since. Cancelled now,
            # it must not have taken the message.
            self.assertEqual(select.select([self.ep], [], [], WAIT)[0], [self.ep])
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            self.assertEqual(self.queued(), 1)
            return value_of(self.ep.recv(timeout=0))

        self.assertEqual(self.run_loop(body), 6)

    def test_wait_for_timeout_leaves_the_message(self) -> None:
        async def body() -> int:
            with self.assertRaises(asyncio.TimeoutError):
                await asyncio.wait_for(self.ep.arecv(), 0.1)
            self.assertEqual(self.loop.readers, set())
            self.send(8)
            return value_of(await self.ep.arecv(timeout=WAIT))

        self.assertEqual(self.run_loop(body), 8)

    def test_concurrent_arecv_is_refused(self) -> None:
        async def body() -> int:
            first = asyncio.ensure_future(self.ep.arecv(timeout=WAIT))
            await asyncio.sleep(0.05)
            with self.assertRaises(hsipc.InvalidArgument) as cm:
                await self.ep.arecv(timeout=1.0)
            self.assertIn("one receiver per endpoint", str(cm.exception))
            # Nor may anything else receive meanwhile.
            for call in (lambda: self.ep.poll(0), lambda: self.ep.recv(timeout=0.1),
                         lambda: self.ep.poll_many(4, timeout=0), lambda: self.ep.poll_many(4, timeout=0.1),
                         self.ep.arm):
                with self.assertRaises(hsipc.InvalidArgument):
                    call()
            self.assertFalse(first.done())
            self.send(12)
            value = value_of(await first)
            # Afterwards, all of them work again.
            self.send(13)
            self.assertEqual(value_of(self.ep.recv(timeout=1.0)), 13)
            self.assertTrue(self.ep.arm())
            return value

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), 12)

    def test_sending_from_the_awaited_endpoint(self) -> None:
        # A client awaits replies in one task and sends requests from the
        # same endpoint in another: sending is not receiving.
        async def body() -> int:
            replies = asyncio.ensure_future(self.ep.arecv(timeout=WAIT))
            await asyncio.sleep(0.05)
            send_value(self.region, self.ep, self.ep.id, 21)
            return value_of(await replies)

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), 21)

    def test_refused_while_a_thread_polls(self) -> None:
        result: list = []
        t = threading.Thread(target=lambda: result.append(self.ep.poll(WAIT)), daemon=True)
        t.start()
        self.addCleanup(t.join, WAIT)
        deadline = time.monotonic() + WAIT
        while not self.ep._lock.locked() and time.monotonic() < deadline:
            time.sleep(0.001)

        async def body() -> None:
            with self.assertRaises(hsipc.InvalidArgument):
                await self.ep.arecv(timeout=1.0)

        self.run_loop(body)
        self.send(4)
        t.join(WAIT)
        self.assertEqual(value_of(result[0]), 4)

    def test_mixed_with_sync_recv(self) -> None:
        async def body() -> list:
            got = []
            later(0.05, lambda: self.send(1))
            got.append(value_of(await self.ep.arecv(timeout=WAIT)))
            later(0.05, lambda: self.send(2))
            got.append(value_of(self.ep.recv(timeout=WAIT)))   # blocks the loop: fine here
            later(0.05, lambda: self.send(3))
            got.append(value_of(await self.ep.arecv(timeout=WAIT)))
            self.send(4)
            self.send(5)
            got.append(value_of(self.ep.recv(timeout=0)))
            got.append(value_of(await self.ep.arecv(timeout=0)))
            with self.assertRaises(TimeoutError):
                self.ep.recv(timeout=0.05)
            later(0.05, lambda: self.send(6))
            got.append(value_of(await self.ep.arecv(timeout=WAIT)))
            return got

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), [1, 2, 3, 4, 5, 6])


class ClosingTest(AsyncTest):
    def pending_then(self, stop: Callable[[], Any], in_thread: bool) -> float:
        """Starts an arecv, runs stop() (in a thread or in the loop) while it
        waits; returns how long the arecv took to raise Closed after."""
        async def body() -> float:
            task = asyncio.ensure_future(self.ep.arecv())
            await asyncio.sleep(0.05)
            self.assertFalse(task.done())
            start = time.monotonic()
            if in_thread:
                t = threading.Thread(target=stop)
                t.start()
                await asyncio.get_running_loop().run_in_executor(None, t.join)
            else:
                stop()
            with self.assertRaises(hsipc.Closed):
                await task
            return time.monotonic() - start

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            return self.run_loop(body)

    def test_close_in_the_loop(self) -> None:
        self.assertLess(self.pending_then(self.ep.close, in_thread=False), 5)
        self.assertTrue(self.ep.closed)

    def test_close_from_another_thread(self) -> None:
        self.assertLess(self.pending_then(self.ep.close, in_thread=True), 5)

    def test_detach_in_the_loop(self) -> None:
        self.assertLess(self.pending_then(self.region.detach, in_thread=False), 5)
        self.assertTrue(self.region.closed)

    def test_detach_from_another_thread(self) -> None:
        self.assertLess(self.pending_then(self.region.detach, in_thread=True), 5)

    def test_closed_endpoint(self) -> None:
        self.ep.close()

        async def body() -> None:
            with self.assertRaises(hsipc.Closed):
                await self.ep.arecv()
            with self.assertRaises(hsipc.Closed):
                await self.ep.arecv(timeout=0)

        self.run_loop(body)

    def test_endpoint_reopened_after_close(self) -> None:
        # The closed endpoint's fd number is free for reuse at once; a new
        # endpoint (likely taking it) is awaited normally.
        async def body() -> int:
            task = asyncio.ensure_future(self.ep.arecv())
            await asyncio.sleep(0.05)
            self.ep.close()
            with self.assertRaises(hsipc.Closed):
                await task
            fresh = self.region.open("sink")
            fresh.fileno()
            later(0.05, lambda: send_value(self.region, self.sender, fresh.id, 77))
            return value_of(await fresh.arecv(timeout=WAIT))

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), 77)

    def test_new_endpoint_awaited_before_the_closed_ones_arecv_ends(self) -> None:
        # The new endpoint's fd takes the closed one's number, and its arecv
        # registers it before the old arecv has run again: a reader left on
        # the old number would swallow the registration or remove it.
        async def body() -> int:
            old = asyncio.ensure_future(self.ep.arecv())
            await asyncio.sleep(0.05)
            number = self.ep.fileno()
            self.ep.close()
            fresh = self.region.open("fresh")
            self.assertEqual(fresh.fileno(), number)  # the lowest free number
            new = asyncio.ensure_future(fresh.arecv(timeout=WAIT))
            await asyncio.sleep(0.05)
            with self.assertRaises(hsipc.Closed):
                await old
            self.assertFalse(new.done())
            send_value(self.region, self.sender, fresh.id, 78)
            return value_of(await new)

        with mock.patch.object(_core, "_AWAIT_RECHECK", 60.0):
            self.assertEqual(self.run_loop(body), 78)


class NoSpinTest(AsyncTest):
    def test_waiting_costs_no_cpu(self) -> None:
        # A 'no busy loop' check, not a benchmark: the bound is generous.
        async def body() -> tuple:
            cpu, wall = time.process_time(), time.monotonic()
            with self.assertRaises(TimeoutError):
                await self.ep.arecv(timeout=0.5)
            timed = (time.process_time() - cpu, time.monotonic() - wall)
            cpu = time.process_time()
            task = asyncio.ensure_future(self.ep.arecv())
            await asyncio.sleep(0.5)
            task.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await task
            return timed + (time.process_time() - cpu,)

        cpu_timed, wall, cpu_unlimited = self.run_loop(body)
        self.assertGreaterEqual(wall, 0.5)
        self.assertLess(cpu_timed, 0.1)
        self.assertLess(cpu_unlimited, 0.1)
        self.assertLessEqual(self.loop.added, 2)  # one wait each: no wake-ups in between


if __name__ == "__main__":
    unittest.main()
