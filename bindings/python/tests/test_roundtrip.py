# SPDX-License-Identifier: MIT
"""Messages through one process: the documented shape, order, sizes,
forwarding, timeouts, introspection and lifetimes."""

from __future__ import annotations

import os
import struct
import time
import zlib

import hsipc

from .support import RegionTest


class ShapeTest(RegionTest):
    def test_the_documented_shape(self) -> None:
        cfg = hsipc.Config(pools=[(256, 64)], inbox_capacity=64)
        with hsipc.attach(self.name, cfg) as region:
            with region.open("py") as ep:
                buf = region.alloc(100)
                self.assertEqual(len(buf.data), 256)  # the whole capacity
                buf.data[:5] = b"hello"
                ep.send(region.lookup("py"), buf, 5)
                self.assertTrue(buf.spent)
                msg = ep.poll(timeout=1.0)
                self.assertEqual(bytes(msg.data), b"hello")
                self.assertEqual((msg.length, msg.sender), (5, ep.id))
                ep.send(region.lookup("py"), msg, 5)
                with ep.poll(0) as again:
                    self.assertEqual(bytes(again.data), b"hello")
                self.assertTrue(again.spent)
            self.assertTrue(ep.closed)
        self.assertTrue(region.closed)
        hsipc.unlink(self.name)


class RoundTripTest(RegionTest):
    def setUp(self) -> None:
        super().setUp()
        self.region = self.attach()
        self.ep = self.region.open("me")

    def test_many_messages_in_order(self) -> None:
        for i in range(200):
            buf = self.region.alloc(8)
            struct.pack_into("<Q", buf.data, 0, i)
            self.ep.send(self.ep.id, buf, 8)
            if i % 50 == 49:
                for j in range(i - 49, i + 1):
                    with self.ep.poll(0) as msg:
                        self.assertEqual(struct.unpack("<Q", msg.data)[0], j)
        self.assertIsNone(self.ep.poll(0))

    def test_sizes_and_pools(self) -> None:
        for size in (1, 255, 256, 257, 65536):
            buf = self.region.alloc(size)
            self.assertGreaterEqual(buf.capacity, size)
            self.assertEqual(len(buf), buf.capacity)
            payload = os.urandom(size)
            buf.data[:size] = payload
            self.ep.send(self.ep.id, buf, size)
            with self.ep.poll(1.0) as msg:
                self.assertEqual(msg.length, size)
                self.assertEqual(len(msg.data), size)
                self.assertEqual(msg.capacity, buf.capacity)
                self.assertEqual(zlib.crc32(msg.data), zlib.crc32(payload))
                self.assertEqual(msg.offset, buf.offset)

    def test_zero_length_message(self) -> None:
        buf = self.region.alloc(1)
        self.ep.send(self.ep.id, buf, 0)
        msg = self.ep.poll(0)
        self.assertEqual((msg.length, len(msg.data), bytes(msg.data)), (0, 0, b""))
        msg.release()

    def test_default_length(self) -> None:
        buf = self.region.alloc(10)
        self.ep.send(self.ep.id, buf)  # a Buffer: its capacity
        msg = self.ep.poll(0)
        self.assertEqual(msg.length, buf.capacity)
        self.ep.send(self.ep, msg)  # a Message: its length; an Endpoint for its id
        self.assertEqual(self.ep.poll(0).length, buf.capacity)

    def test_received_message_is_writable_and_forwardable(self) -> None:
        other = self.region.open("other")
        buf = self.region.alloc(16)
        buf.data[:4] = b"ping"
        self.ep.send(other.id, buf, 4)
        msg = other.poll(1.0)
        self.assertEqual(msg.sender, self.ep.id)
        msg.data[:4] = b"pong"  # in place
        other.send(msg.sender, msg)  # zero-copy reply
        reply = self.ep.poll(1.0)
        self.assertEqual(bytes(reply.data), b"pong")
        self.assertEqual(reply.sender, other.id)
        self.assertEqual(reply.offset, buf.offset)
        reply.release()

    def test_poll_many(self) -> None:
        for i in range(10):
            buf = self.region.alloc(8)
            struct.pack_into("<Q", buf.data, 0, i)
            self.ep.send(self.ep.id, buf, 8)
        first = self.ep.poll_many(4, timeout=1.0)
        self.assertEqual([struct.unpack("<Q", m.data)[0] for m in first], [0, 1, 2, 3])
        rest = self.ep.poll_many(timeout=0)  # up to 64
        self.assertEqual([struct.unpack("<Q", m.data)[0] for m in rest], list(range(4, 10)))
        self.assertTrue(all(m.sender == self.ep.id and m.length == 8 for m in first + rest))
        self.assertEqual(self.ep.poll_many(8, 0), [])
        self.assertEqual(self.ep.poll_many(8, 0.01), [])
        self.assertEqual(self.region.pool_stats()[0].held, 10)
        self.ep.send(self.ep.id, first[0])  # forwardable like any message
        for m in first[1:] + rest:
            m.release()
        with self.ep.poll_many(1, None)[0] as again:
            self.assertEqual(struct.unpack("<Q", again.data)[0], 0)
        self.assertEqual(self.region.pool_stats()[0].held, 0)
        for bad in (0, -1):
            with self.assertRaises(hsipc.InvalidArgument):
                self.ep.poll_many(bad)
        with self.assertRaises(TypeError):
            self.ep.poll_many(2.0)  # type: ignore[arg-type]
        with self.assertRaises(hsipc.InvalidArgument):
            self.ep.poll_many(4, -1)

    def test_poll_many_with_linger(self) -> None:
        for i in range(6):
            buf = self.region.alloc(8)
            struct.pack_into("<Q", buf.data, 0, i)
            self.ep.send(self.ep.id, buf, 8)
        # A full batch is there: taken at once, however long the linger.
        start = time.monotonic()
        first = self.ep.poll_many(4, 0, linger=60.0)
        self.assertLess(time.monotonic() - start, 30.0)
        self.assertEqual([struct.unpack("<Q", m.data)[0] for m in first], [0, 1, 2, 3])
        # Two of four: taken once the linger has passed.
        rest = self.ep.poll_many(4, 1.0, linger=0.002)
        self.assertEqual([struct.unpack("<Q", m.data)[0] for m in rest], [4, 5])
        for m in first + rest:
            m.release()
        self.assertEqual(self.ep.poll_many(4, 0, linger=60.0), [])  # empty: no lingering
        self.assertEqual(self.ep.poll_many(4, 0.01, linger=0.001), [])
        for bad in (-1, -0.5, float("nan"), float("inf")):
            with self.assertRaises(hsipc.InvalidArgument):
                self.ep.poll_many(4, 0, linger=bad)
        for wrong in ("1", None, True):
            with self.assertRaises(TypeError):
                self.ep.poll_many(4, 0, linger=wrong)  # type: ignore[arg-type]
        self.assertEqual(self.region.pool_stats()[0].held, 0)

    def test_timeouts(self) -> None:
        self.assertIsNone(self.ep.poll(0))
        self.assertIsNone(self.ep.poll(0.0))
        self.assertIsNone(self.ep.poll(0.02))
        self.assertIsNone(self.ep.poll(1e-12))
        self.ep.send(self.ep.id, self.region.alloc(1), 1)
        self.assertIsNotNone(self.ep.poll(None))  # there already: returns at once
        self.ep.send(self.ep.id, self.region.alloc(1), 1)
        self.assertIsNotNone(self.ep.poll(float("inf")))

    def test_two_handles_in_one_process(self) -> None:
        second = self.attach()
        their = second.open("second")
        self.assertEqual(second.lookup("me"), self.ep.id)
        buf = second.alloc(8)
        buf.data[:2] = b"hi"
        their.send(self.ep.id, buf, 2)
        msg = self.ep.poll(1.0)
        self.assertEqual(bytes(msg.data), b"hi")
        with self.assertRaises(hsipc.InvalidArgument):
            their.send(self.ep.id, msg, 2)  # belongs to the other handle
        msg.release()
        second.detach()
        self.assertFalse(self.region.closed)
        self.region.alloc(1).release()

    def test_attach_existing(self) -> None:
        with hsipc.attach(self.name, create=False) as again:
            self.assertEqual(again.lookup("me"), self.ep.id)

    def test_introspection(self) -> None:
        held = self.region.alloc(1)
        self.ep.send(self.ep.id, self.region.alloc(1), 1)
        stats = self.region.pool_stats()
        self.assertEqual(len(stats), len(self.config.pools))
        self.assertEqual((stats[0].buffer_size, stats[0].buffer_count), self.config.pools[0])
        self.assertEqual((stats[0].held, stats[0].queued), (1, 1))
        self.assertEqual(stats[0].free, stats[0].buffer_count - 2)
        infos = self.region.endpoints()
        self.assertEqual([(i.name, i.id, i.owner_pid, i.owner_alive, i.queued) for i in infos],
                         [("me", self.ep.id, os.getpid(), True, 1)])
        self.assertEqual(self.region.reap(), 0)  # nothing dead
        del held

    def test_properties_and_reprs(self) -> None:
        self.assertEqual(self.region.name, self.name)
        self.assertEqual((self.ep.name, self.ep.region), ("me", self.region))
        self.assertIsInstance(self.ep.id, int)
        buf = self.region.alloc(3)
        self.assertIs(buf.region, self.region)
        self.assertIn("256 bytes", repr(buf))
        self.assertIn("'me'", repr(self.ep))
        self.assertIn("1 buffers held", repr(self.region))
        buf.release()
        self.assertIn("spent", repr(buf))

    def test_version_and_library(self) -> None:
        major, minor, patch = hsipc.version()
        self.assertEqual(major, 0)
        self.assertTrue(os.path.exists(hsipc.library_path()))
        self.assertEqual(hsipc.__version__, "%d.%d.%d" % hsipc.HEADER_VERSION)

    def test_handles_do_not_pickle(self) -> None:
        import pickle
        for obj in (self.region, self.ep, self.region.alloc(1)):
            with self.assertRaises(TypeError):
                pickle.dumps(obj)
