# SPDX-License-Identifier: MIT
"""Every exception class, raised where its C status arises."""

from __future__ import annotations

import errno
import os
import pickle
import shutil
import tempfile
import threading
import time
import unittest

import hsipc
from hsipc import Status, _errors, _lib

from .support import SHM, RegionTest


class InvalidArgumentTest(RegionTest):
    def test_bad_region_names(self) -> None:
        for bad in ["", "a/b", "a b", "x" * 64, "ü", ".."[:0]]:
            with self.subTest(name=bad), self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
                hsipc.attach(bad)
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            hsipc.unlink("no/slash")
        # Caught by the binding: C would see only "a".
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            hsipc.attach("a\0b")
        with self.assertRaises(TypeError):
            hsipc.attach(42)  # type: ignore[arg-type]
        self.assertEqual(os.path.exists(os.path.join(SHM, "hsipc.a")), False)

    def test_longest_name_is_fine(self) -> None:
        name = (self.name + "-" + "x" * 63)[:63]
        self.addCleanup(self._remove, name)
        self.attach(name=name).detach()

    def test_bad_endpoint_names(self) -> None:
        region = self.attach()
        for bad in ["", "a b", "y" * 64, "tab\t"]:
            with self.subTest(name=bad):
                with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
                    region.open(bad)
                with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
                    region.lookup(bad)
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            region.open("nul\0")

    def test_bad_sizes_and_timeouts(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            region.alloc(0)
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            region.alloc(-1)  # ctypes would have made it SIZE_MAX
        with self.assertRaises(TypeError):
            region.alloc(1.5)  # type: ignore[arg-type]
        for bad in (-1, -0.5, float("nan")):
            with self.subTest(timeout=bad), self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
                ep.poll(bad)
        with self.assertRaises(TypeError):
            ep.poll("1")  # type: ignore[arg-type]

    def test_length_beyond_capacity(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        buf = region.alloc(10)
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            ep.send(ep.id, buf, buf.capacity + 1)
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            ep.send(ep.id, buf, -1)
        with self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
            ep.send(ep.id, buf, 1 << 64)  # would wrap to 0 in ctypes
        with self.assertRaises(TypeError):
            ep.send(ep.id, buf, 1.0)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            ep.send(float(ep.id), buf, 1)  # type: ignore[arg-type]
        with self.assertRaises(TypeError):
            ep.send(ep.id, b"bytes", 1)  # type: ignore[arg-type]
        ep.send(ep.id, buf, buf.capacity)  # still owned, still sendable
        ep.poll(0).release()

    def test_bad_config(self) -> None:
        cases = [
            hsipc.Config(pools=[(1024, 4), (256, 4)]),  # not ascending
            hsipc.Config(pools=[]),
            hsipc.Config(max_endpoints=0),
            hsipc.Config(inbox_capacity=(1 << 20) + 1),
            hsipc.Config(mode=0o400),  # the creator could not reattach
            hsipc.Config(pools=[(256, 4)], max_buffers_per_process=5),
        ]
        for cfg in cases:
            with self.subTest(cfg=cfg), self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
                hsipc.attach(self.name, cfg)
        # What the C struct cannot hold, refused before C sees it.
        for cfg in [hsipc.Config(pools=[(2 ** i, 1) for i in range(1, 10)]),
                    hsipc.Config(max_endpoints=1 << 32), hsipc.Config(pools=[(-1, 1)])]:
            with self.subTest(cfg=cfg), self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL):
                hsipc.attach(self.name, cfg)
        with self.assertRaises(TypeError):
            hsipc.attach(self.name, hsipc.Config(pools=[(256,)]))
        self.assertFalse(os.path.exists(os.path.join(SHM, "hsipc." + self.name)), "a failed create left an object")


class NameReasonTest(RegionTest):
    def test_invalid_name_says_why(self) -> None:
        region = self.attach()
        cases = [("", "is empty"), ("a/b", "contains '/'"), ("x" * 64, "is 64 bytes long; at most 63"),
                 ("a b", "contains ' '"), ("tab\t", "contains '\\t'")]
        for bad, why in cases:
            for call in (hsipc.attach, hsipc.unlink, region.open, region.lookup):
                with self.subTest(name=bad, call=call.__name__), \
                        self.assertRaisesStatus(hsipc.InvalidArgument, Status.EINVAL) as cm:
                    call(bad)
                self.assertIn(f"the name {why}", str(cm.exception))


class StdlibHierarchyTest(RegionTest):
    def test_errors_are_the_stdlib_exceptions_too(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        cases = [(lambda: region.lookup("missing"), FileNotFoundError, hsipc.NotFound, errno.ENOENT),
                 (lambda: hsipc.attach(self.name + "-none", create=False), FileNotFoundError, hsipc.NotFound,
                  errno.ENOENT),
                 (lambda: region.open("ep"), FileExistsError, hsipc.Exists, errno.EEXIST),
                 (lambda: ep.recv(0), TimeoutError, hsipc.Again, errno.ETIMEDOUT),
                 (lambda: ep.recv(0.01), TimeoutError, hsipc.Again, errno.ETIMEDOUT)]
        for call, std, cls, code in cases:
            with self.subTest(cls=cls.__name__):
                with self.assertRaises(std) as cm:
                    call()
                e = cm.exception
                self.assertIsInstance(e, cls)
                self.assertIsInstance(e, OSError)
                self.assertEqual((e.errno, e.strerror), (code, os.strerror(code)))
                self.assertEqual(e.code, cls.status)
                self.assertIn(f"[{_errors.status_name(cls.status)}]", str(e))
                copy = pickle.loads(pickle.dumps(e))
                self.assertIs(type(copy), cls)
                self.assertEqual((str(copy), copy.errno, copy.code), (str(e), e.errno, e.code))
        self.assertTrue(issubclass(hsipc.PermissionDenied, PermissionError))
        self.assertEqual(hsipc.PermissionDenied(Status.EPERM).errno, errno.EPERM)
        self.assertFalse(issubclass(hsipc.NoMemory, OSError))  # MemoryError is the interpreter's own

    def test_recv_is_poll_without_none(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        ep.send(ep.id, region.alloc(4), 4)
        with ep.recv(timeout=1.0) as msg:
            self.assertEqual(msg.length, 4)
        self.assertTrue(msg.spent)
        with self.assertRaisesStatus(hsipc.Again, Status.EAGAIN) as cm:
            ep.recv(timeout=0.01)
        self.assertIn("recv on endpoint 'ep'", str(cm.exception))
        ep.close()
        with self.assertRaises(hsipc.Closed):
            ep.recv(0)


class FullDevShmTest(RegionTest):
    def test_no_space_says_so_and_how_big(self) -> None:
        st = os.statvfs(SHM)
        if st.f_blocks == 0:
            self.skipTest("/dev/shm has no size limit here")
        # More 1 GiB buffers than /dev/shm holds: tmpfs refuses at once.
        config = hsipc.Config(pools=[(1 << 30, st.f_blocks * st.f_frsize // (1 << 30) + 2)])
        size = hsipc._core._region_size(config)
        with self.assertRaisesStatus(hsipc.SysError, Status.ESYS) as cm:
            hsipc.attach(self.name, config)
        e = cm.exception
        self.assertIsInstance(e, OSError)
        self.assertEqual((e.errno, e.strerror), (errno.ENOSPC, "No space left on device"))
        self.assertIn("No space left on device", str(e))
        self.assertIn(f"creating a region of {size:,} bytes", str(e))
        self.assertNotIn("errno holds it", str(e))
        self.assertFalse(os.path.exists(os.path.join(SHM, "hsipc." + self.name)))


class NotFoundTest(RegionTest):
    def test_lookup_of_missing_endpoint(self) -> None:
        region = self.attach()
        with self.assertRaisesStatus(hsipc.NotFound, Status.ENOENT):
            region.lookup("nobody")

    def test_closed_endpoint_is_not_found(self) -> None:
        region = self.attach()
        region.open("gone").close()
        with self.assertRaisesStatus(hsipc.NotFound, Status.ENOENT):
            region.lookup("gone")

    def test_missing_region(self) -> None:
        with self.assertRaisesStatus(hsipc.NotFound, Status.ENOENT):
            hsipc.unlink(self.name)
        with self.assertRaisesStatus(hsipc.NotFound, Status.ENOENT):
            hsipc.attach(self.name, create=False)


class ExistsTest(RegionTest):
    def test_duplicate_endpoint(self) -> None:
        region = self.attach()
        first = region.open("twice")
        with self.assertRaisesStatus(hsipc.Exists, Status.EEXIST):
            region.open("twice")
        # Also through a second handle in the same process.
        with self.assertRaisesStatus(hsipc.Exists, Status.EEXIST):
            self.attach().open("twice")
        first.close()
        region.open("twice")  # free again once closed


class NoMemoryTest(RegionTest):
    def test_pool_exhausted(self) -> None:
        region = self.attach(hsipc.Config(pools=[(64, 3)]))
        held = [region.alloc(64) for _ in range(3)]
        with self.assertRaisesStatus(hsipc.NoMemory, Status.ENOMEM):
            region.alloc(1)
        held.pop().release()
        region.alloc(1).release()

    def test_endpoint_table_full(self) -> None:
        region = self.attach(hsipc.Config(max_endpoints=2))
        held = [region.open("one"), region.open("two")]
        with self.assertRaisesStatus(hsipc.NoMemory, Status.ENOMEM):
            region.open("three")
        del held  # an Endpoint no longer referenced is closed, as a file is
        region.open("three")

    def test_per_process_limit(self) -> None:
        region = self.attach(hsipc.Config(pools=[(64, 8)], max_buffers_per_process=2))
        held = [region.alloc(8), region.alloc(8)]
        with self.assertRaisesStatus(hsipc.NoMemory, Status.ENOMEM):
            region.alloc(8)
        self.assertEqual(region.pool_stats()[0].free, 6)
        del held


class AllocTimeoutTest(RegionTest):
    config = hsipc.Config(pools=[(256, 2)], inbox_capacity=8)

    def test_alloc_waits_for_a_release(self) -> None:
        region = self.attach()
        held = [region.alloc(8), region.alloc(8)]
        with self.assertRaises(hsipc.NoMemory):
            region.alloc(8)  # timeout 0: at once
        t0 = time.monotonic()
        with self.assertRaisesStatus(hsipc.NoMemory, Status.ENOMEM):
            region.alloc(8, timeout=0.05)
        self.assertGreaterEqual(time.monotonic() - t0, 0.05)
        timer = threading.Timer(0.05, held.pop().release)
        timer.start()
        self.addCleanup(timer.join)
        buf = region.alloc(8, timeout=None)
        self.assertFalse(buf.spent)
        with self.assertRaises(hsipc.TooBig):
            region.alloc(1000, timeout=1.0)  # no waiting for what can never fit
        for bad in (-1, float("nan")):
            with self.subTest(timeout=bad), self.assertRaises(hsipc.InvalidArgument):
                region.alloc(8, timeout=bad)


class FullTest(RegionTest):
    def test_inbox_full_and_sender_keeps_buffer(self) -> None:
        region = self.attach(hsipc.Config(pools=[(64, 8)], inbox_capacity=2))
        ep = region.open("small")
        ep.send(ep.id, region.alloc(8), 1)
        ep.send(ep.id, region.alloc(8), 1)
        buf = region.alloc(8)
        buf.data[:3] = b"abc"
        with self.assertRaisesStatus(hsipc.Full, Status.EFULL):
            ep.send(ep.id, buf, 3)
        self.assertFalse(buf.spent)
        self.assertEqual(bytes(buf.data[:3]), b"abc")  # still ours, fresh view
        ep.poll(0).release()
        ep.send(ep.id, buf, 3)


class AgainTest(RegionTest):
    def test_poll_returns_none_not_again(self) -> None:
        region = self.attach()
        ep = region.open("quiet")
        self.assertIsNone(ep.poll(0))
        self.assertIsNone(ep.poll(0.01))
        self.assertIsInstance(_errors.error(Status.EAGAIN), hsipc.Again)


class BadOffsetTest(RegionTest):
    def test_double_release(self) -> None:
        region = self.attach()
        buf = region.alloc(10)
        buf.release()
        with self.assertRaisesStatus(hsipc.SpentBuffer, Status.EBADOFF) as cm:
            buf.release()
        self.assertIsInstance(cm.exception, hsipc.BadOffset)

    def test_spent_buffer_cannot_be_sent(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        buf = region.alloc(10)
        ep.send(ep.id, buf, 1)
        for attempt in (lambda: ep.send(ep.id, buf, 1), buf.release):
            with self.assertRaisesStatus(hsipc.BadOffset, Status.EBADOFF):
                attempt()
        ep.poll(0).release()

    def test_c_double_release_is_ebadoff(self) -> None:
        # The binding never lets a spent buffer reach C; through the raw
        # function the library's own check answers.
        region = self.attach()
        off = region.alloc(10).offset  # the Buffer is dropped: released
        rc = _lib.fast.hsipc_release(region._handle, off)
        self.assertEqual(rc, Status.EBADOFF)
        with self.assertRaisesStatus(hsipc.BadOffset, Status.EBADOFF):
            _errors.check(rc, "hsipc_release")
        self.assertEqual(_lib.fast.hsipc_release(region._handle, 12345), Status.EBADOFF)


class PeerGoneTest(RegionTest):
    def test_stale_made_up_and_out_of_range_ids(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        other = region.open("other")
        stale = other.id
        other.close()
        reopened = region.open("other")
        self.assertNotEqual(reopened.id, stale)
        buf = region.alloc(10)
        for to in (stale, 0, 0x7FFFFFF0, 1 << 32, -1):
            with self.subTest(to=to), self.assertRaisesStatus(hsipc.PeerGone, Status.EPEER):
                ep.send(to, buf, 1)
        self.assertFalse(buf.spent)
        ep.send(reopened, buf, 1)  # an Endpoint works as well as its id
        self.assertIsNotNone(reopened.poll(0))


class RegionFileTest(RegionTest):
    """Objects at the region's name that hsipc did not make (or not like this)."""

    def path(self) -> str:
        return os.path.join(SHM, "hsipc." + self.name)

    def test_corrupt_magic(self) -> None:
        with open(self.path(), "wb") as f:
            f.write(b"NOTHSIPC" + bytes(1 << 16))
        with self.assertRaisesStatus(hsipc.Corrupt, Status.ECORRUPT):
            hsipc.attach(self.name)

    def test_too_small(self) -> None:
        with open(self.path(), "wb") as f:
            f.write(b"HSIPCRGN")
        with self.assertRaisesStatus(hsipc.Corrupt, Status.ECORRUPT):
            hsipc.attach(self.name)

    def test_other_layout_version(self) -> None:
        self.attach(hsipc.Config(pools=[(64, 4)])).detach()
        with open(self.path(), "r+b") as f:
            f.seek(8)  # docs/region-format.md: u32 layout version at offset 8
            f.write((999).to_bytes(4, "little"))  # no layout has this version
        with self.assertRaisesStatus(hsipc.VersionMismatch, Status.EVERSION):
            hsipc.attach(self.name)

    def test_symlink_at_name(self) -> None:
        target = tempfile.NamedTemporaryFile(dir=SHM, prefix=f"pyt-{os.getpid()}-target-", delete=False)
        target.close()
        self.addCleanup(os.unlink, target.name)
        os.symlink(target.name, self.path())
        with self.assertRaisesStatus(hsipc.PermissionDenied, Status.EPERM):
            hsipc.attach(self.name)


class TooBigTest(RegionTest):
    def test_larger_than_largest_pool(self) -> None:
        region = self.attach(hsipc.Config(pools=[(64, 2), (4096, 2)]))
        region.alloc(4096).release()
        with self.assertRaisesStatus(hsipc.TooBig, Status.ETOOBIG):
            region.alloc(4097)


class ConfigFileErrorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="hsipc-py-")
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, text: str) -> str:
        path = os.path.join(self.dir, "hsipc.conf")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_malformed_files(self) -> None:
        for text in ["colour = blue\n", "max_endpoints\n", "max_endpoints = many\n",
                     "max_endpoints = 0\n", "inbox_capacity = 99999999999\n", "pool = 256 by 4\n",
                     "pool = 1024 x 4\npool = 256 x 4\n", "mode = 0999\n"]:
            with self.subTest(text=text), self.assertRaises(hsipc.InvalidArgument) as cm:
                hsipc.Config.load(self.write(text))
            self.assertEqual(cm.exception.code, Status.EINVAL)

    def test_missing_file(self) -> None:
        with self.assertRaises(hsipc.NotFound) as cm:
            hsipc.Config.load(os.path.join(self.dir, "absent.conf"))
        self.assertEqual(cm.exception.code, Status.ENOENT)

    def test_directory(self) -> None:
        with self.assertRaises(hsipc.InvalidArgument):
            hsipc.Config.load(self.dir)

    def test_nul_in_path(self) -> None:
        with self.assertRaises(hsipc.InvalidArgument):
            hsipc.Config.load(self.dir + "/\0x")

    @unittest.skipIf(os.geteuid() == 0, "root reads any file")
    def test_unreadable(self) -> None:
        path = self.write("max_endpoints = 8\n")
        os.chmod(path, 0)
        with self.assertRaises(hsipc.PermissionDenied) as cm:
            hsipc.Config.load(path)
        self.assertEqual(cm.exception.code, Status.EPERM)

    def test_sys_error_carries_errno(self) -> None:
        with self.assertRaises(hsipc.SysError) as cm:
            hsipc.Config.load(os.path.join(self.dir, "n" * 300))
        e = cm.exception
        self.assertEqual(e.code, Status.ESYS)
        self.assertEqual(e.errno, errno.ENAMETOOLONG)
        self.assertEqual(e.strerror, os.strerror(errno.ENAMETOOLONG))
        self.assertIsInstance(e, OSError)
        self.assertIn("HSIPC_ESYS", str(e))
        self.assertIn(os.strerror(errno.ENAMETOOLONG), str(e))


class ClosedTest(RegionTest):
    def test_detached_region_and_closed_endpoint(self) -> None:
        region = self.attach()
        ep = region.open("ep")
        ep2 = region.open("ep2")
        ep2.close()
        ep2.close()  # again: nothing
        self.assertTrue(ep2.closed)
        for call in (lambda: ep2.poll(0), lambda: ep2.poll(0.01), lambda: ep2.send(ep.id, region.alloc(1), 1),
                     lambda: ep2.poll_many(4, 0), lambda: ep2.poll_many(4, 0.01)):
            with self.assertRaises(hsipc.Closed) as cm:
                call()
            self.assertEqual(cm.exception.code, Status.EINVAL)
            self.assertIsInstance(cm.exception, hsipc.InvalidArgument)
        buf = region.alloc(1)
        region.detach()
        region.detach()  # again: nothing
        self.assertTrue(region.closed)
        self.assertTrue(ep.closed)
        for call in (lambda: region.alloc(1), lambda: region.lookup("ep"), lambda: region.open("x"),
                     lambda: region.reap(), lambda: region.config, lambda: ep.poll(0), lambda: ep.poll(None),
                     buf.release):
            with self.assertRaises(hsipc.Closed):
                call()


class ErrorObjectTest(unittest.TestCase):
    def test_pickles_with_its_class_and_fields(self) -> None:
        for err in [_errors.error(Status.ENOENT, "hsipc_lookup('x')"),
                    hsipc.SysError(Status.ESYS, None, "ctx", errno=errno.EIO),
                    hsipc.SpentBuffer(Status.EBADOFF, context="spent")]:
            copy = pickle.loads(pickle.dumps(err))
            self.assertIs(type(copy), type(err))
            self.assertEqual((copy.code, copy.message, copy.context, str(copy)),
                             (err.code, err.message, err.context, str(err)))
        self.assertEqual(pickle.loads(pickle.dumps(hsipc.SysError(errno=errno.EIO))).errno, errno.EIO)

    def test_code_is_a_status_member(self) -> None:
        err = _errors.error(-4)
        self.assertIs(err.code, Status.ENOMEM)
        self.assertEqual(err.code, -4)
        self.assertEqual(str(err), "no free buffer large enough, or no free endpoint or process slot [HSIPC_ENOMEM]")


if __name__ == "__main__":
    unittest.main()
