# SPDX-License-Identifier: MIT
"""The memoryviews: zero-copy, and unusable once their buffer is given up."""

from __future__ import annotations

import ctypes
import gc
import pickle
import struct
import zlib

import hsipc

from .support import RegionTest


def unusable(test: RegionTest, view: memoryview) -> None:
    for use in (lambda: view[0], lambda: bytes(view), lambda: view.__setitem__(0, 1), lambda: len(view),
                lambda: zlib.crc32(view), lambda: view[0:1], lambda: view.cast("b")):
        with test.assertRaises(ValueError):
            use()
    with test.assertRaises((ValueError, TypeError)):  # argument parsing says TypeError
        struct.pack_into("B", view, 0, 1)


class ViewTest(RegionTest):
    config = hsipc.Config(pools=[(256, 4), (4096, 2)], inbox_capacity=8)

    def setUp(self) -> None:
        super().setUp()
        self.region = self.attach()
        self.ep = self.region.open("me")

    def test_view_is_zero_copy_bytes(self) -> None:
        buf = self.region.alloc(10)
        view = buf.data
        self.assertEqual((view.format, view.itemsize, view.readonly, view.c_contiguous), ("B", 1, False, True))
        view[0] = 7
        self.assertEqual(buf.data[0], 7)
        self.ep.send(self.ep.id, buf, 10)
        msg = self.ep.poll(0)
        self.assertEqual(msg.data[0], 7)
        # The view is the buffer itself: the binding's own mapping of the
        # region (hsipc/_core.py) shares its pages with the library's.
        msg.data[1:4] = b"abc"
        where = hsipc._lib.fast.hsipc_ptr(self.region._handle, msg.offset)
        self.assertEqual(ctypes.string_at(where, 4), b"\x07abc")
        ctypes.memmove(where + 4, b"xyz", 3)
        self.assertEqual(bytes(msg.data[4:7]), b"xyz")
        address = ctypes.addressof(ctypes.c_char.from_buffer(msg.data))
        self.assertEqual(address, self.region._mmaddr + msg.offset)

    def test_batch_views_behave_alike(self) -> None:
        for _ in range(3):
            self.ep.send(self.ep.id, self.region.alloc(8), 8)
        msgs = self.ep.poll_many(3, 0)
        views = [m.data for m in msgs]
        msgs[0].release()
        self.ep.send(self.ep.id, msgs[1])
        self.region.detach()
        for view in views:
            unusable(self, view)

    def test_released_buffer_view(self) -> None:
        buf = self.region.alloc(10)
        view = buf.data
        copy = bytes(view)
        buf.release()
        self.assertTrue(buf.spent)
        unusable(self, view)
        unusable(self, buf.data)
        self.assertEqual(len(copy), 256)  # copies made earlier are the caller's

    def test_sent_buffer_view(self) -> None:
        buf = self.region.alloc(10)
        view = buf.data
        self.ep.send(self.ep.id, buf, 1)
        unusable(self, view)
        msg = self.ep.poll(0)
        mview = msg.data
        self.ep.send(self.ep.id, msg)  # forwarded: spent too
        unusable(self, mview)
        with self.assertRaises(hsipc.SpentBuffer):
            msg.release()
        self.ep.poll(0).release()

    def test_stale_object_cannot_touch_the_new_holder(self) -> None:
        region = self.attach(hsipc.Config(pools=[(64, 1)]), name=self.name + "-one")
        self.addCleanup(self._remove, self.name + "-one")
        ep = region.open("ep")
        old = region.alloc(8)
        old_off = old.offset
        old.release()
        new = region.alloc(8)  # the only buffer: the same offset again
        self.assertEqual(new.offset, old_off)
        new.data[:3] = b"new"
        with self.assertRaises(hsipc.SpentBuffer):
            old.release()
        with self.assertRaises(hsipc.SpentBuffer):
            ep.send(ep.id, old, 1)
        self.assertFalse(new.spent)
        self.assertEqual(bytes(new.data[:3]), b"new")
        self.assertEqual(region.pool_stats()[0].held, 1)
        ep.send(ep.id, new, 3)
        echoed = ep.poll(0)
        with self.assertRaises(hsipc.SpentBuffer):
            new.release()  # sent, and back as a new Message
        self.assertEqual(bytes(echoed.data), b"new")
        echoed.release()

    def test_detach_releases_every_view(self) -> None:
        region = self.attach(name=self.name)
        ep = region.open("other")
        buf = region.alloc(10)
        ep.send(ep.id, region.alloc(10), 10)
        msg = ep.poll(0)
        views = [buf.data, msg.data]
        region.detach()
        for view in views:
            unusable(self, view)
        for obj in (buf, msg):
            with self.assertRaises(hsipc.Closed):
                obj.release()
        self.assertTrue(buf.spent)
        self.assertEqual(self.region.pool_stats()[0].held, 0)  # given back at detach

    def test_export_blocks_release_and_send(self) -> None:
        buf = self.region.alloc(10)
        exported = pickle.PickleBuffer(buf.data)  # holds an export of the view, as C extensions may
        with self.assertRaises(BufferError):
            buf.release()
        with self.assertRaises(BufferError):
            self.ep.send(self.ep.id, buf, 1)
        self.assertFalse(buf.spent)
        self.assertIsNone(self.ep.poll(0))  # nothing was sent
        memoryview(exported)[0] = ord("x")
        self.assertEqual(buf.data[0], ord("x"))
        exported.release()
        buf.release()

    def test_export_blocks_detach(self) -> None:
        region = self.attach(name=self.name)
        kept = region.alloc(10)
        other = region.alloc(10)
        exported = pickle.PickleBuffer(kept.data)
        other_view = other.data
        with self.assertRaises(BufferError):
            region.detach()
        self.assertFalse(region.closed)  # still attached: the export stays valid
        memoryview(exported)[0] = ord("y")
        unusable(self, other_view)  # the others were released already
        self.assertTrue(other.spent)
        del exported  # gives its export back
        region.detach()
        self.assertTrue(region.closed)
        self.assertEqual(self.region.pool_stats()[0].held, 0)

    def test_failed_send_gives_a_fresh_view(self) -> None:
        buf = self.region.alloc(10)
        old = buf.data
        old[:2] = b"ok"
        with self.assertRaises(hsipc.PeerGone):
            self.ep.send(12345, buf, 2)
        unusable(self, old)
        self.assertIsNot(buf.data, old)
        self.assertEqual(bytes(buf.data[:2]), b"ok")
        buf.release()

    def test_send_from_a_closed_endpoint_keeps_the_buffer(self) -> None:
        other = self.region.open("other")
        other.close()
        buf = self.region.alloc(8)
        buf.data[:2] = b"ok"
        with self.assertRaises(hsipc.Closed):
            other.send(self.ep.id, buf, 2)
        self.assertFalse(buf.spent)
        self.assertEqual(bytes(buf.data[:2]), b"ok")
        self.ep.send(self.ep.id, buf, 2)
        self.ep.poll(0).release()

    def test_dropped_objects_are_released(self) -> None:
        self.region.alloc(10)  # dropped at once
        buf = self.region.alloc(10)
        self.ep.send(self.ep.id, self.region.alloc(10), 1)
        msg = self.ep.poll(0)
        self.assertEqual(self.region.pool_stats()[0].held, 2)
        del buf, msg
        gc.collect()
        self.assertEqual(self.region.pool_stats()[0].held, 0)

    def test_dropping_the_message_releases_its_view(self) -> None:
        self.ep.send(self.ep.id, self.region.alloc(10), 3)
        view = self.ep.poll(0).data  # the Message is dropped here: released
        unusable(self, view)

    def test_derived_views_are_the_callers_duty(self) -> None:
        # What the binding cannot revoke: slices, casts, memoryview(view) and
        # ctypes' from_buffer (numpy.frombuffer likewise) alias the memory
        # without holding an export. They stay usable after the release (the
        # memory is still mapped) and may by then be someone else's buffer.
        buf = self.region.alloc(8)
        part = buf.data[0:4]
        words = buf.data.cast("I")
        alias = memoryview(buf.data)
        raw = ctypes.c_char.from_buffer(buf.data)
        buf.release()
        self.assertEqual((len(part), len(words), len(alias)), (4, 64, 256))
        self.assertIsInstance(raw.value, bytes)
        for view in (part, words, alias):
            view.release()
