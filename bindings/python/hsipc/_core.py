# SPDX-License-Identifier: MIT
"""Regions, endpoints, buffers and messages over the C API.

How the memory stays mapped. The library maps a region once per handle;
hsipc_detach unmaps it, and anything Python still held at that address
(a slice of ``buf.data``, ``memoryview(view)``, ``numpy.frombuffer``, ctypes'
``from_buffer``) would then read unmapped memory: a segfault. So the views
the binding hands out are not of the library's mapping but of a second one,
a Python :class:`mmap.mmap` of the same shm object (checked by device and
inode against the library's mapping; offsets are the same in both). An mmap
is unmapped only when nothing exports it any more: every view derived from
it keeps it alive, as for any Python buffer. :meth:`Region.detach` detaches
the library at once; if views derived from the mmap still exist, it swaps
the mmap's pages for private zero-filled ones (mmap MAP_FIXED at the same
address), so those views stay readable and writable but no longer alias a
region other processes use. No Python code can fault on hsipc memory.

How the views are revoked. The binding wraps the mmap in one memoryview and
hands out *slices* of it: a buffer's ``data`` is ``region_view[off:off + n]``.
A slice is its own memoryview object whose ``release()`` makes every later
use raise ValueError, so when a buffer is released or sent, or its region
detached, the binding releases the slice it handed out. Before giving the
buffer up it releases the view first; if the view cannot be released
because something holds a buffer export of it (a ``pickle.PickleBuffer``,
a C extension keeping a Py_buffer), BufferError is raised and the buffer is
neither sent nor released.

What no exporter can revoke, and so stays the caller's duty: views derived
from the view (slices, ``cast``, ``memoryview(view)``, ``numpy.frombuffer``,
``ctypes.c_char.from_buffer(view)``) stay usable after the release. They are
memory-safe (see above) but, until the region is detached, alias a buffer
that may by then be someone else's.

Each Region keeps ``_live``: key -> the view of the Buffer or Message that
holds it through this handle. An object is live exactly while its view is
the one registered there, so "spent" needs no flag of its own, a stale object
can never act on an offset that has since come back to this process as a
new buffer, and detaching can release every view still out. The key is the
offset, except for a message received shared (published to a topic): this
process may hold one such buffer through several endpoints at once, one
reference each, so each of those messages has a key of its own, the offset
plus a serial number times 2**64 (``key & _U64`` is the offset; ``key >> 64``
is non-zero for a shared message alone). Shared messages get their views from
a read-only view of the mapping: the buffer is the other subscribers' too.

Hot paths (alloc, send, poll, release) are written for ctypes' cost: the
function objects are bound to module globals, the hsipc_msg of an endpoint is
reused, constant arguments are prebuilt ctypes objects, and the fields of a
message are read with one struct.unpack_from.
"""

from __future__ import annotations

import atexit
import ctypes
import errno as _errno
import itertools
import mmap
import os
import struct
import threading
import time
import weakref
from ctypes import byref
from operator import attrgetter
from typing import TYPE_CHECKING, Iterable, List, NamedTuple, Optional, Tuple, Union

if TYPE_CHECKING:
    import asyncio

from . import _lib
from ._errors import (
    Again,
    BadOffset,
    Closed,
    Error,
    InvalidArgument,
    NoMemory,
    NotFound,
    PeerGone,
    SpentBuffer,
    Status,
    SysError,
    check,
    error,
)

_EAGAIN = int(Status.EAGAIN)
_EINTR = int(Status.EINTR)
_EINVAL = int(Status.EINVAL)
_ESYS = int(Status.ESYS)
_ENOENT = int(Status.ENOENT)
_ENOMEM = int(Status.ENOMEM)
_U32 = 0xFFFFFFFF
_U64 = 0xFFFFFFFFFFFFFFFF
_I64 = 0x7FFFFFFFFFFFFFFF
_SIZE_BITS = 8 * ctypes.sizeof(ctypes.c_size_t)
_SIZE_MAX = (1 << _SIZE_BITS) - 1

# A blocking poll waits in slices of this length, returning to the
# interpreter in between so that Ctrl-C (KeyboardInterrupt) and other signal
# handlers run within about this long.
POLL_SLICE = 0.1
_SLICE_NS = int(POLL_SLICE * 1e9)
_SLICE = ctypes.c_int64(_SLICE_NS)
# A waiting lookup holds the region's lock (so detach cannot free the handle
# under it): shorter slices keep the region's other calls waiting less.
_LOOKUP_SLICE_NS = 20_000_000
_INF = float("inf")

# Function objects, looked up once. `_f*` keep the GIL (never block); the
# others release it.
_lib_ = _lib.lib
_fast = _lib.fast
_falloc = _fast.hsipc_alloc
_fsend = _fast.hsipc_send_offset
_fpoll = _fast.hsipc_poll
_frelease = _fast.hsipc_release
_fptr = _fast.hsipc_ptr
_fcapacity = _fast.hsipc_capacity
_wpoll = _lib_.hsipc_poll
_fpoll_many = _fast.hsipc_poll_many
_wpoll_many = _lib_.hsipc_poll_many
_wpoll_batch = _lib_.hsipc_poll_batch
# Hold the GIL and capture errno: see _lib.py.
_fendpoint_fd = _lib.fast_errno.hsipc_endpoint_fd
_farm = _lib.fast_errno.hsipc_endpoint_arm
_fsubscribe = _lib.fast_errno.hsipc_subscribe
_funsubscribe = _lib.fast_errno.hsipc_unsubscribe
_fpublish = _fast.hsipc_publish
_SHARED = _lib.HSIPC_MSG_SHARED
_NS0 = ctypes.c_int64(0)
_u64 = _lib.hsipc_off
_new = object.__new__
_monotonic_ns = time.monotonic_ns

# hsipc_msg as one unpack: off, length, from, flags, data.
_MSG = struct.Struct("=QQIIQ")
assert _MSG.size == ctypes.sizeof(_lib.hsipc_msg) and ctypes.sizeof(ctypes.c_void_p) == 8

_Name = Union[str, bytes]
_PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _name_arg(name: _Name, what: str) -> bytes:
    if isinstance(name, str):
        raw = name.encode("utf-8", "surrogateescape")
    elif isinstance(name, (bytes, bytearray)):
        raw = bytes(name)
    else:
        raise TypeError(f"{what} name must be str or bytes, not {type(name).__name__}")
    if b"\0" in raw:
        raise InvalidArgument(Status.EINVAL, context=f"{what} name {name!r} contains a NUL byte")
    return raw


_NAME_CHARS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def _name_problem(raw: bytes) -> Optional[str]:
    """Why the library refuses name `raw` (the rule of valid_name in
    src/region.cc), or None for a name it takes. Used only to explain an
    HSIPC_EINVAL the library returned, never to refuse a name itself."""
    if not raw:
        return "is empty"
    if len(raw) > _lib.HSIPC_NAME_MAX:
        return f"is {len(raw)} bytes long; at most {_lib.HSIPC_NAME_MAX}"
    if b"/" in raw:
        return "contains '/'"
    bad = next((b for b in raw if b not in _NAME_CHARS), None)
    if bad is not None:
        shown = repr(chr(bad)) if bad < 0x80 else f"byte {bad:#04x}"
        return f"contains {shown}; names use only ASCII letters, digits, '.', '_' and '-'"
    return None


def _named_call(rc: int, call: str, name: _Name, raw: bytes) -> int:
    """check() for a call that takes a name: an HSIPC_EINVAL says what is
    wrong with the name, where it is the name."""
    if rc == _EINVAL:
        why = _name_problem(raw)
        if why is not None:
            raise InvalidArgument(rc, context=f"{call}({name!r}): the name {why}")
    return check(rc, f"{call}({name!r})")


def _path_arg(path: _PathLike) -> bytes:
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise InvalidArgument(Status.EINVAL, context=f"path {path!r} contains a NUL byte")
    return raw


def _uint(value: int, limit: int, what: str) -> int:
    """`value` as an int in 0..limit; ctypes would silently truncate instead."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= limit:
        raise InvalidArgument(Status.EINVAL, context=f"{what} {value} is out of range 0..{limit}")
    return value


def version() -> Tuple[int, int, int]:
    """(major, minor, patch) of the libhsipc actually loaded (hsipc_version)."""
    v = _lib_.hsipc_version()
    return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


def library_path() -> str:
    """The file libhsipc was loaded from."""
    return _lib.path


# ---- Configuration ----------------------------------------------------------


class Config:
    """The fields of ``hsipc_config`` that a region is created with.

    Fields left out (or None) keep the defaults of ``hsipc_config_init``::

        Config(pools=[(256, 64)], inbox_capacity=64)

    ``pools`` is a sequence of ``(buffer_size, buffer_count)`` pairs in strictly
    ascending size, at most :data:`MAX_POOLS`. Values are checked in full by
    :func:`attach` (InvalidArgument); the binding itself only refuses what the
    C struct cannot hold.
    """

    __slots__ = ("max_endpoints", "inbox_capacity", "pools", "mode", "max_buffers_per_process", "spin_ns",
                 "max_topics", "max_subscribers")

    max_endpoints: int
    inbox_capacity: int
    pools: List[Tuple[int, int]]
    mode: int
    max_buffers_per_process: int
    spin_ns: int
    max_topics: int
    max_subscribers: int

    def __init__(self, *, max_endpoints: Optional[int] = None, inbox_capacity: Optional[int] = None,
                 pools: Optional[Iterable[Tuple[int, int]]] = None, mode: Optional[int] = None,
                 max_buffers_per_process: Optional[int] = None, spin_ns: Optional[int] = None,
                 max_topics: Optional[int] = None, max_subscribers: Optional[int] = None) -> None:
        c = _lib.hsipc_config()
        _lib_.hsipc_config_init(byref(c))
        self._set_from(c)
        if max_endpoints is not None:
            self.max_endpoints = max_endpoints
        if inbox_capacity is not None:
            self.inbox_capacity = inbox_capacity
        if pools is not None:
            self.pools = [tuple(p) for p in pools]  # type: ignore[misc]
        if mode is not None:
            self.mode = mode
        if max_buffers_per_process is not None:
            self.max_buffers_per_process = max_buffers_per_process
        if spin_ns is not None:
            self.spin_ns = spin_ns
        if max_topics is not None:
            self.max_topics = max_topics
        if max_subscribers is not None:
            self.max_subscribers = max_subscribers

    def _set_from(self, c: "_lib.hsipc_config") -> None:
        self.max_endpoints = c.max_endpoints
        self.inbox_capacity = c.inbox_capacity
        self.pools = [(c.pools[i].buffer_size, c.pools[i].buffer_count)
                      for i in range(min(c.pool_count, _lib.HSIPC_MAX_POOLS))]
        self.mode = c.mode
        self.max_buffers_per_process = c.max_buffers_per_process
        self.spin_ns = c.spin_ns
        self.max_topics = c.max_topics
        self.max_subscribers = c.max_subscribers

    @classmethod
    def _from_c(cls, c: "_lib.hsipc_config") -> "Config":
        self = cls.__new__(cls)
        self._set_from(c)
        return self

    def _to_c(self) -> "_lib.hsipc_config":
        c = _lib.hsipc_config()
        _lib_.hsipc_config_init(byref(c))
        c.max_endpoints = _uint(self.max_endpoints, _U32, "max_endpoints")
        c.inbox_capacity = _uint(self.inbox_capacity, _U32, "inbox_capacity")
        c.mode = _uint(self.mode, _U32, "mode")
        c.max_buffers_per_process = _uint(self.max_buffers_per_process, _U32, "max_buffers_per_process")
        c.spin_ns = _uint(self.spin_ns, _I64, "spin_ns")
        c.max_topics = _uint(self.max_topics, _U32, "max_topics")
        c.max_subscribers = _uint(self.max_subscribers, _U32, "max_subscribers")
        pools = list(self.pools)
        if len(pools) > _lib.HSIPC_MAX_POOLS:
            raise InvalidArgument(Status.EINVAL,
                                  context=f"{len(pools)} pools; at most {_lib.HSIPC_MAX_POOLS}")
        for i, pool in enumerate(pools):
            try:
                size, count = pool
            except (TypeError, ValueError):
                raise TypeError(f"pools[{i}] must be a (buffer_size, buffer_count) pair, not {pool!r}") from None
            c.pools[i].buffer_size = _uint(size, _U64, f"pools[{i}] buffer_size")
            c.pools[i].buffer_count = _uint(count, _U32, f"pools[{i}] buffer_count")
            c.pools[i].reserved = 0
        c.pool_count = len(pools)
        return c

    @classmethod
    def load(cls, path: _PathLike, base: Optional["Config"] = None) -> "Config":
        """`base` (default: the defaults) overlaid with the configuration file
        at `path` (hsipc_config_load): lines of ``key = value``; see the header.

        Raises InvalidArgument (unknown key, malformed line, bad or
        out-of-range value), NotFound (no such file), PermissionDenied,
        SysError.
        """
        c = (base if base is not None else cls())._to_c()
        check(_lib_.hsipc_config_load(byref(c), _path_arg(path)), f"hsipc_config_load({os.fsdecode(path)!r})")
        return cls._from_c(c)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__ if f != "pools") and \
            [tuple(p) for p in self.pools] == [tuple(p) for p in other.pools]

    def __repr__(self) -> str:
        return (f"Config(max_endpoints={self.max_endpoints}, inbox_capacity={self.inbox_capacity}, "
                f"pools={[tuple(p) for p in self.pools]!r}, mode=0o{self.mode:o}, "
                f"max_buffers_per_process={self.max_buffers_per_process}, spin_ns={self.spin_ns}, "
                f"max_topics={self.max_topics}, max_subscribers={self.max_subscribers})")


class PoolStats(NamedTuple):
    """A snapshot of one pool's buffers (hsipc_region_pool_stats)."""
    buffer_size: int
    buffer_count: int
    free: int
    held: int
    queued: int
    shared: int  # published, referenced by subscribers until the last lets go


class EndpointInfo(NamedTuple):
    """One open endpoint of a region, as any process sees it (hsipc_region_endpoint_info)."""
    slot: int
    id: int
    name: str
    owner_pid: int
    owner_alive: bool
    queued: int


class TopicInfo(NamedTuple):
    """One topic of a region with its subscribers now (hsipc_region_topic_info)."""
    slot: int
    id: int
    name: str
    subscribers: Tuple[int, ...]  # endpoint ids, as in EndpointInfo.id


class Topic(NamedTuple):
    """A topic of a region; made by :meth:`Region.topic`. Messages published
    to it (:meth:`Endpoint.publish`) go to every endpoint subscribed to it
    (:meth:`Endpoint.subscribe`), in any process. A plain value: the id
    means the same in every process attached to the region, for as long as
    the region exists."""
    name: str
    id: int


class PublishResult(NamedTuple):
    """What :meth:`Endpoint.publish` did: how many subscribers received the
    message, and how many missed it because their inbox was full."""
    delivered: int
    skipped: int


# ---- Regions ------------------------------------------------------------------

# Every Region not yet detached, for fork() and exit.
_regions: "weakref.WeakSet[Region]" = weakref.WeakSet()


def attach(name: _Name, config: Optional[Config] = None, *, create: bool = True) -> "Region":
    """Attaches to region `name` (/dev/shm/hsipc.NAME), creating it from
    `config` where none exists (hsipc_attach).

    `config` None means the defaults, overlaid with the file named by the
    HSIPC_CONFIG environment variable when set. Where the region exists,
    `config` is ignored: see :attr:`Region.config`. With ``create=False``
    a missing region raises NotFound (hsipc_attach_existing).

    Raises InvalidArgument (bad name or config), PermissionDenied,
    VersionMismatch, Corrupt, NoMemory (process table full), NotFound
    (``create=False``), SysError.
    """
    raw = _name_arg(name, "region")
    handle = _lib.hsipc_region_p()
    if create:
        c = config._to_c() if config is not None else None
        rc = _lib_.hsipc_attach(raw, byref(c) if c is not None else None, byref(handle))
        if rc == _ESYS:
            raise _attach_sys_error(name, config, ctypes.get_errno())
        _named_call(rc, "hsipc_attach", name, raw)
    else:
        _named_call(_lib_.hsipc_attach_existing(raw, byref(handle)), "hsipc_attach_existing", name, raw)
    return Region(handle, os.fsdecode(raw))


def _attach_sys_error(name: _Name, config: Optional[Config], errno: int) -> SysError:
    """hsipc_attach's HSIPC_ESYS; for a full /dev/shm, with the size of the
    region it could not create and the space there was."""
    context = f"hsipc_attach({name!r})"
    if errno in (_errno.ENOSPC, _errno.EFBIG):
        try:
            if config is None:
                config = Config()
                path = os.environ.get("HSIPC_CONFIG")
                if path:
                    config = Config.load(path, config)
            size: Optional[int] = _region_size(config)
        except (Error, TypeError, ValueError):
            size = None
        if size is not None:
            context += f": creating a region of {size:,} bytes ({size / 2**20:.1f} MiB)"
            try:
                st = os.statvfs("/dev/shm")
                context += f"; /dev/shm has {st.f_bavail * st.f_frsize:,} bytes free"
            except OSError:
                pass
    return SysError(_ESYS, None, context, errno=errno)


def _round_up(n: int, to: int) -> int:
    return (n + to - 1) // to * to


def _region_size(config: Config) -> Optional[int]:
    """The bytes of /dev/shm a region created from `config` takes, or None
    for a configuration the library would refuse. The layout of
    docs/region-format.md (src/layout.cc), exactly: tests/test_config.py
    compares it with the size of regions the library made."""
    page, line = 4096, 64
    try:
        c = config._to_c()
    except (Error, TypeError, ValueError):
        return None
    pools = [(c.pools[i].buffer_size, c.pools[i].buffer_count) for i in range(c.pool_count)]
    if not 1 <= c.max_endpoints or not 1 <= c.inbox_capacity or not pools:
        return None
    if any(not 1 <= size <= 1 << 30 or count < 1 for size, count in pools):
        return None
    capacity = 1 << (c.inbox_capacity - 1).bit_length()  # rounded up to a power of two
    at = page                                            # the header
    at += max(c.max_endpoints, 64) * 64                  # process table
    at += c.max_endpoints * 256                          # endpoint table
    at += c.max_endpoints * _round_up(capacity * 8, line)  # inbox rings
    buffers = sum(count for _, count in pools)
    topics = c.max_topics
    subscribers = c.max_subscribers if topics else 0     # no lists or records without topics
    at += buffers * 64                                   # buffer headers
    at += topics * 128                                   # topic table
    at += _round_up(topics * subscribers * 4, line)      # subscriber lists
    at += buffers * subscribers * 8                      # share records
    for size, count in pools:
        at = _round_up(at, page) + _round_up(size, line) * count
    at = _round_up(at, page)
    return at if at <= 1 << 40 else None


def unlink(name: _Name) -> None:
    """Removes region `name`; attached processes keep working (hsipc_unlink).

    Raises InvalidArgument (bad name), NotFound, PermissionDenied, SysError.
    """
    raw = _name_arg(name, "region")
    _named_call(_lib_.hsipc_unlink(raw), "hsipc_unlink", name, raw)


def _mapping_at(base: int) -> Tuple[int, int, int]:
    """(length, st_dev, st_ino) of this process's mapping that starts at
    `base`, from /proc/self/maps."""
    with open("/proc/self/maps", "rb") as maps:
        for line in maps:
            start, _, rest = line.partition(b"-")
            if int(start, 16) != base:
                continue
            fields = rest.split()  # end perms offset dev inode [path]
            major, minor = fields[3].split(b":")
            return int(fields[0], 16) - base, os.makedev(int(major, 16), int(minor, 16)), int(fields[4])
    raise OSError(f"no mapping at {base:#x} in /proc/self/maps")


def _candidates(name: str) -> Iterable[str]:
    """Paths that may open the region's shm object: its name, then this
    process's descriptors (the library keeps one open per attachment), for
    a region unlinked or replaced since the library mapped it."""
    yield "/dev/shm/hsipc." + name
    try:
        fds = os.listdir("/proc/self/fd")
    except OSError:
        return
    for fd in fds:
        yield "/proc/self/fd/" + fd


def _second_mapping(base: int, name: str) -> Tuple[mmap.mmap, int]:
    """A Python mmap of the shm object that the library mapped at `base`,
    and the mmap's own address. Raises OSError where none can be made."""
    size, dev, ino = _mapping_at(base)
    for path in _candidates(name):
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_ino != ino or st.st_dev != dev or st.st_size < size:
            continue
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            st = os.fstat(fd)  # the object opened, not the one stat() saw
            if st.st_ino != ino or st.st_dev != dev:
                continue
            mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        probe = ctypes.c_char.from_buffer(mm)
        addr = ctypes.addressof(probe)
        del probe  # gives its export back
        return mm, addr
    raise OSError(f"cannot open the shm object of region {name!r} (device {dev:#x}, inode {ino})")


_libc = ctypes.CDLL(None, use_errno=True)
_libc_mmap = _libc.mmap
_libc_mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc_mmap.restype = ctypes.c_void_p
_MAP_FIXED = 0x10  # Linux, every architecture


def _retire(mm: mmap.mmap, addr: int) -> None:
    """Unmaps the binding's mapping of a detached region, or, while views
    derived from it remain, makes it private zero-filled memory: those views
    stay valid (the mmap is unmapped when the last goes) but no longer alias
    the region."""
    try:
        mm.close()
        return
    except BufferError:
        pass
    _libc_mmap(addr, len(mm), mmap.PROT_READ | mmap.PROT_WRITE,
               mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_FIXED, -1, 0)
    # On failure (MAP_FAILED) the shared mapping stays: still memory-safe.


class Region:
    """One attachment to a named region; made by :func:`attach`.

    A context manager: leaving the ``with`` block detaches. Buffers and
    messages obtained through it are released at detach; its endpoints are
    closed. Use it from the process that attached: a child made by fork()
    attaches anew (in the child the inherited object raises Closed).
    """

    __slots__ = ("_handle", "_name", "_live", "_view", "_roview", "_mm", "_mmaddr", "_caps", "_endpoints",
                 "_lock", "_serial", "__weakref__")

    def __init__(self, handle: "_lib.hsipc_region_p", name: str) -> None:
        self._handle: Optional[_lib.hsipc_region_p] = handle
        self._name = name
        self._live: dict = {}  # key (the offset, for all but shared messages) -> the memoryview handed out
        self._view: Optional[memoryview] = None  # of _mm, made on first need
        self._roview: Optional[memoryview] = None  # _view, read-only: for shared messages
        self._serial = itertools.count(1)  # for the keys of shared messages
        self._mm: Optional[mmap.mmap] = None  # the binding's own mapping (module docstring)
        self._mmaddr = 0
        self._caps: dict = {}  # offset -> capacity; fixed for the region's life
        self._endpoints: "weakref.WeakSet[Endpoint]" = weakref.WeakSet()
        # Held around the calls that release the GIL (lookup, open, reap,
        # ...) and by detach(), which so never frees the handle under one.
        # The hot calls keep the GIL, and detach() clears the handle first.
        self._lock = threading.Lock()
        _regions.add(self)

    # -- lifetime

    @property
    def name(self) -> str:
        """The region's name."""
        return self._name

    @property
    def closed(self) -> bool:
        """True once detached (or inherited across fork())."""
        return self._handle is None

    def _h(self) -> "_lib.hsipc_region_p":
        handle = self._handle
        if handle is None:
            raise self._closed()
        return handle

    def detach(self) -> None:
        """Releases every buffer and message still held through this handle
        (their views become unusable), closes its endpoints, and unmaps
        (hsipc_detach). Calling it again does nothing.

        Raises BufferError, leaving the region attached, while something
        holds a buffer export of one of those views (see :attr:`Buffer.data`);
        the buffers whose views could be released are released already.
        Raises SysError.
        """
        with self._lock:
            self._detach()

    def _detach(self) -> None:
        handle = self._handle
        if handle is None:
            return
        exported = 0
        for key, view in list(self._live.items()):
            try:
                view.release()
            except BufferError:
                exported += 1
                continue
            if self._live.get(key) is view:
                del self._live[key]
            _frelease(handle, key & _U64)
        if exported:
            raise BufferError(f"region {self._name!r}: {exported} buffer view(s) still exported "
                              "(e.g. by a pickle.PickleBuffer); release those and detach again")
        self._handle = None
        _regions.discard(self)
        # Another thread may have registered a buffer since the sweep above;
        # from now on one that does sees the handle gone and undoes it.
        for off, view in list(self._live.items()):
            try:
                view.release()
            except BufferError:
                pass
        self._live.clear()
        # Endpoints die with the handle: wait until no thread is inside a
        # blocking poll on one of them (at most one poll slice).
        locks = []
        for ep in list(self._endpoints):
            ep._handle = None
            ep._wake_async()
            ep._lock.acquire()
            locks.append(ep._lock)
        try:
            if self._roview is not None:
                self._roview.release()
                self._roview = None
            if self._view is not None:
                self._view.release()
                self._view = None
            if self._mm is not None:
                _retire(self._mm, self._mmaddr)
                self._mm = None
            rc = _lib_.hsipc_detach(handle)
        finally:
            for lock in locks:
                lock.release()
        check(rc, f"hsipc_detach({self._name!r})")

    def _forget(self) -> None:
        """In a forked child: drop the parent's handle without calling C."""
        self._handle = None
        self._lock = threading.Lock()  # the parent's may have been held at fork
        for ep in list(self._endpoints):
            ep._handle = None
            ep._lock = threading.Lock()  # the parent's may have been held at fork
        for view in self._live.values():
            try:
                view.release()
            except BufferError:
                pass
        self._live.clear()

    def __enter__(self) -> "Region":
        return self

    def __exit__(self, *exc: object) -> None:
        self.detach()

    def __del__(self) -> None:
        try:
            if self._handle is not None:
                self.detach()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "detached" if self._handle is None else f"{len(self._live)} buffers held"
        return f"<hsipc.Region {self._name!r} {state}>"

    # -- information

    @property
    def config(self) -> Config:
        """The region's effective configuration (hsipc_region_config), which
        may differ from what this process asked for if another created it."""
        c = _lib.hsipc_config()
        _lib_.hsipc_config_init(byref(c))
        with self._lock:
            rc = _lib_.hsipc_region_config(self._h(), byref(c))
        check(rc, "hsipc_region_config")
        return Config._from_c(c)

    def pool_stats(self) -> List[PoolStats]:
        """A snapshot of every pool (hsipc_region_pool_stats); counts may be off
        by the operations in flight."""
        out = []
        for pool in range(len(self.config.pools)):
            s = _lib.hsipc_pool_stats()
            s.struct_size = ctypes.sizeof(s)
            with self._lock:
                rc = _lib_.hsipc_region_pool_stats(self._h(), pool, byref(s))
            check(rc, "hsipc_region_pool_stats")
            out.append(PoolStats(s.buffer_size, s.buffer_count, s.free_count, s.held_count, s.queued_count,
                                 s.shared_count))
        return out

    def endpoints(self) -> List[EndpointInfo]:
        """Every open endpoint of the region, from any process
        (hsipc_region_endpoint_info)."""
        out = []
        for slot in range(self.config.max_endpoints):
            info = _lib.hsipc_endpoint_info()
            info.struct_size = ctypes.sizeof(info)
            with self._lock:
                rc = _lib_.hsipc_region_endpoint_info(self._h(), slot, byref(info))
            if rc == _ENOENT:
                continue
            check(rc, "hsipc_region_endpoint_info")
            out.append(EndpointInfo(slot, info.id, info.name.decode("utf-8", "replace"),
                                    info.owner_pid, bool(info.owner_alive), info.queued))
        return out

    def topics(self) -> List[TopicInfo]:
        """Every topic of the region with its subscribers, each a consistent
        snapshot (hsipc_region_topic_info)."""
        out = []
        for slot in range(self.config.max_topics):
            info = _lib.hsipc_topic_info()
            info.struct_size = ctypes.sizeof(info)
            with self._lock:
                rc = _lib_.hsipc_region_topic_info(self._h(), slot, byref(info))
            if rc == _ENOENT:
                continue
            check(rc, "hsipc_region_topic_info")
            count = min(info.subscriber_count, _lib.HSIPC_MAX_SUBSCRIBERS)
            out.append(TopicInfo(slot, info.id, info.name.decode("utf-8", "replace"),
                                 tuple(info.subscribers[i] for i in range(count))))
        return out

    # -- endpoints

    def open(self, name: _Name) -> "Endpoint":
        """Creates this process's endpoint (inbox) `name` (hsipc_endpoint_open).

        Raises InvalidArgument (bad name), Exists, NoMemory (no free endpoint
        slot), SysError.
        """
        raw = _name_arg(name, "endpoint")
        handle = _lib.hsipc_endpoint_p()
        with self._lock:
            rc = _lib_.hsipc_endpoint_open(self._h(), raw, byref(handle))
            _named_call(rc, "hsipc_endpoint_open", name, raw)
            ep = Endpoint(self, handle, os.fsdecode(raw))
            self._endpoints.add(ep)
        return ep

    def lookup(self, name: _Name, timeout: Optional[float] = 0) -> int:
        """The id of the open endpoint `name`, from any process (hsipc_lookup).

        `timeout` 0 (the default) looks once; a positive number waits at most
        that many seconds for the name to be opened, None without limit
        (hsipc_lookup_wait: it sleeps, never spins). A waiting lookup returns
        to the interpreter every 20 ms, so signal handlers run, Ctrl-C
        interrupts it, and the region's other calls (which share its lock
        with it) wait no longer than that.

        Raises InvalidArgument (bad name, negative or NaN timeout), NotFound
        (not opened in time), SysError.
        """
        raw = _name_arg(name, "endpoint")
        out = _lib.hsipc_id()
        if timeout == 0:
            with self._lock:
                rc = _lib_.hsipc_lookup(self._h(), raw, byref(out))
            _named_call(rc, "hsipc_lookup", name, raw)
            return out.value
        deadline, ns = _first_slice(_INF if timeout is None else timeout)
        ns = min(ns, _LOOKUP_SLICE_NS)
        while True:
            with self._lock:
                rc = _lib_.hsipc_lookup_wait(self._h(), raw, ns, byref(out))
            # ENOENT: the slice ran out; EINTR: a signal handler is due, and
            # runs now (PEP 475). Either way, wait on while time is left.
            if rc != _ENOENT and rc != _EINTR:
                break
            if deadline is not None:
                ns = deadline - _monotonic_ns()
                if ns <= 0:
                    rc = _ENOENT
                    break
                ns = min(ns, _LOOKUP_SLICE_NS)
            else:
                ns = _LOOKUP_SLICE_NS
        _named_call(rc, "hsipc_lookup_wait", name, raw)
        return out.value

    def reap(self) -> int:
        """Reclaims what dead processes held (hsipc_reap); returns how many
        buffers and endpoints came back.

        Raises Corrupt, SysError.
        """
        with self._lock:
            rc = _lib_.hsipc_reap(self._h())
        return check(rc, "hsipc_reap")

    # -- topics

    def topic(self, name: _Name) -> "Topic":
        """Topic `name` of the region, found or created (hsipc_topic_open):
        a :class:`Topic` with its name and id, for :meth:`Endpoint.publish`.

        The id is the same in every process attached to the region and
        stays the topic's as long as the region exists (a topic is never
        removed), so a process may keep it, or pass it to another. Names
        follow the endpoint name rules, in a space of their own: a topic
        may share a name with an endpoint.

        Raises InvalidArgument (bad name), NoMemory (the region has its
        most topics, or none configured), SysError.
        """
        raw = _name_arg(name, "topic")
        out = _lib.hsipc_id()
        with self._lock:
            rc = _lib_.hsipc_topic_open(self._h(), raw, byref(out))
        if rc == _ENOMEM:
            raise NoMemory(rc, context=f"hsipc_topic_open({name!r}): the region has its most topics "
                           "(max_topics), or none configured")
        _named_call(rc, "hsipc_topic_open", name, raw)
        return Topic(os.fsdecode(raw), out.value)

    # -- buffers

    def _map(self, base: int) -> memoryview:
        """The memoryview of the binding's own mapping of the region that the
        library mapped at `base` (see the module docstring)."""
        try:
            mm, addr = _second_mapping(base, self._name)
        except OSError as e:
            raise SysError(Status.ESYS, None, f"region {self._name!r}: mapping it for Python: {e}",
                           errno=e.errno or 0) from e
        view = memoryview(mm)
        if self._view is not None or self._handle is None:  # another thread was first, or a detach
            view.release()
            mm.close()
            if self._view is None:
                raise self._closed()
            return self._view
        self._mm = mm
        self._mmaddr = addr
        self._roview = view.toreadonly()
        self._view = view
        return view

    def alloc(self, size: int, timeout: Optional[float] = 0) -> "Buffer":
        """A buffer of at least `size` bytes from the smallest pool that fits
        and has one free (hsipc_alloc). Its :attr:`Buffer.data` covers its
        whole capacity.

        `timeout` is for back-pressure: with ``0`` (the default) an exhausted
        pool raises NoMemory at once; otherwise alloc retries, sleeping a few
        tens of microseconds to a millisecond between tries (a release wakes
        no one), for up to `timeout` seconds (``None``: no limit). No system
        call is made while a buffer is free.

        Raises InvalidArgument (size 0), TooBig, NoMemory (pools exhausted,
        or max_buffers_per_process reached, past the timeout), Closed.
        """
        if size.__class__ is not int or not 0 < size <= _SIZE_MAX:
            size = _alloc_size(size)
        out = _u64()
        try:
            rc = _falloc(self._handle, size, out)
            if rc:
                if self._handle is None:
                    raise self._closed()
                if rc == _ENOMEM and timeout != 0:
                    return self._alloc_wait(size, timeout)
                raise error(rc, f"hsipc_alloc({size})")
            off = out.value
            cap = self._caps.get(off)
            if cap is None:
                cap = self._capacity(off)
            v = self._view
            if v is None:
                v = self._map(_fptr(self._handle, off) - off)
            view = v[off:off + cap]
            buf = _new(Buffer)
            buf._region = self
            buf._off = off
            buf._key = off
            buf._view = view
            buf._n = cap
            buf._cap = cap
            self._live[off] = view
            if self._handle is None:  # detached by another thread meanwhile
                raise _unregister(self, off, view)
            return buf
        except BaseException as e:
            # Interrupted (e.g. KeyboardInterrupt) after the C call succeeded:
            # give the buffer back rather than leak it.
            handle = self._handle
            off = out.value
            if off and off not in self._live and handle is not None:
                _frelease(handle, off)
            if handle is None and isinstance(e, (ValueError, TypeError)) and not isinstance(e, Error):
                raise self._closed() from None
            raise

    def _alloc_wait(self, size: int, timeout: Optional[float]) -> "Buffer":
        """alloc's retries under back-pressure."""
        if timeout is None:
            deadline = _INF
        else:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
                raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
            if not timeout > 0:
                raise InvalidArgument(Status.EINVAL, context=f"alloc timeout {timeout!r}")
            deadline = time.monotonic() + timeout
        pause = 20e-6
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise error(_ENOMEM, f"hsipc_alloc({size}), for {timeout} s")
            time.sleep(min(pause, deadline - now))
            pause = min(pause * 2, 1e-3)
            try:
                return self.alloc(size)
            except NoMemory:
                pass

    def _closed(self) -> Closed:
        return Closed(Status.EINVAL, context=f"region {self._name!r} is detached")

    def _capacity(self, off: int) -> int:
        cap = _fcapacity(self._handle, off)
        if cap and len(self._caps) < 65536:  # 0: not held (or detached): nothing learnt
            self._caps[off] = cap
        return cap

    def __getstate__(self) -> None:
        raise TypeError("a Region cannot be pickled or sent to another process: attach there anew")


def _alloc_size(size: object) -> int:
    """alloc's size when it is not a plain int in 1..SIZE_MAX: ctypes would
    truncate what c_size_t cannot hold. 0 goes on to C (HSIPC_EINVAL)."""
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"size must be an int, not {type(size).__name__}")
    if not 0 <= size <= _SIZE_MAX:
        raise InvalidArgument(Status.EINVAL, context=f"hsipc_alloc({size}): size out of range")
    return int(size)


# ---- Endpoints ------------------------------------------------------------------


def _first_slice(timeout: object) -> Tuple[Optional[int], int]:
    """(deadline in monotonic ns or None, first slice in ns) of a poll timeout
    in seconds; the first slice is 0 (one check) for a timeout under 1 ns."""
    cls = timeout.__class__
    if cls is not float and cls is not int:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if not timeout > 0:  # negative or NaN; 0 never comes here
        raise InvalidArgument(Status.EINVAL, context=f"poll timeout {timeout!r}")
    if timeout == _INF:
        return None, _SLICE_NS
    ns = int(timeout * 1e9)
    return _monotonic_ns() + ns, (ns if ns < _SLICE_NS else _SLICE_NS)


def _linger_ns(linger: object) -> int:
    """poll_many's linger in seconds as ns for hsipc_poll_batch."""
    if isinstance(linger, bool) or not isinstance(linger, (int, float)):
        raise TypeError(f"linger must be a number of seconds, not {type(linger).__name__}")
    if not 0 <= linger < _INF:  # negative, NaN or infinite
        raise InvalidArgument(Status.EINVAL, context=f"poll_many linger {linger!r}")
    return min(int(linger * 1e9), 2**63 - 1)


class Endpoint:
    """This process's inbox in a region; made by :meth:`Region.open`.

    A context manager: leaving the ``with`` block closes it. One thread polls
    an endpoint at a time (a second concurrent poller gets InvalidArgument);
    an :meth:`arecv` awaiting it counts as a poller. Sending from several
    threads is fine. For event loops it has a file descriptor
    (:meth:`fileno`, :meth:`arm`), and :meth:`arecv` for asyncio. Topics:
    :meth:`subscribe`, :meth:`unsubscribe`, :meth:`publish`.
    """

    __slots__ = ("_handle", "_region", "_name", "_id", "_msg", "_msgview", "_lock", "_waiting",
                 "_batch", "_batchview", "_count", "_fd", "_await", "__weakref__")

    def __init__(self, region: Region, handle: "_lib.hsipc_endpoint_p", name: str) -> None:
        self._handle: Optional[_lib.hsipc_endpoint_p] = handle
        self._region = region
        self._name = name
        self._id: int = _lib_.hsipc_endpoint_id(handle)
        self._msg = _lib.hsipc_msg()  # reused by every poll
        self._msgview = memoryview(self._msg).cast("B")
        # Held around each blocking poll slice, and by close(): closing
        # waits for a thread inside hsipc_poll instead of freeing its handle.
        self._lock = threading.Lock()
        # A thread is inside a blocking hsipc_poll, or an arecv awaits the fd.
        self._waiting = False
        self._batch: Optional[ctypes.Array] = None  # poll_many's hsipc_msg array, grown on demand
        self._batchview: Optional[memoryview] = None
        self._count = ctypes.c_size_t()
        self._fd = -1  # hsipc_endpoint_fd's, once asked for
        self._await: Optional[_AsyncWait] = None  # the pending arecv

    @property
    def id(self) -> int:
        """The endpoint's id, for :meth:`send` from any process."""
        return self._id

    @property
    def name(self) -> str:
        """The endpoint's name."""
        return self._name

    def set_spin(self, seconds: float) -> None:
        """How long a waiting poll spins before it sleeps
        (hsipc_endpoint_set_spin): 50e-6 by default, 0 sleeps at once. The
        spin catches a quick reply without a system call; a receiver of a
        steady trickle of messages spends less CPU with 0 (docs/performance.md,
        "Spinning").

        Raises InvalidArgument (negative or NaN), Closed.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"spin must be a number of seconds, not {type(seconds).__name__}")
        if not 0 <= seconds < _INF:
            raise InvalidArgument(Status.EINVAL, context=f"spin {seconds!r}")
        handle = self._handle
        if handle is None:
            raise self._closed()
        check(_lib_.hsipc_endpoint_set_spin(handle, min(int(seconds * 1e9), 2**63 - 1)), "hsipc_endpoint_set_spin")

    @property
    def region(self) -> Region:
        """The Region it was opened in."""
        return self._region

    @property
    def closed(self) -> bool:
        """True once closed (or its region detached)."""
        return self._handle is None

    def close(self) -> None:
        """Closes the endpoint (hsipc_endpoint_close): messages queued to it
        return to the pools and its id becomes stale. Waits for a thread
        blocked in :meth:`poll` on it to return (at most one poll slice,
        POLL_SLICE seconds); that poll then raises Closed, as does an
        :meth:`arecv` awaiting it, from any thread. Calling it again does
        nothing.

        Raises SysError.
        """
        handle = self._handle
        if handle is None:
            return
        self._handle = None
        self._region._endpoints.discard(self)
        self._wake_async()
        with self._lock:
            # A detach of the region that got here first closed it already
            # (and freed the handle).
            if self._region._handle is None:
                return
            rc = _lib_.hsipc_endpoint_close(handle)
        check(rc, f"hsipc_endpoint_close({self._name!r})")

    def __enter__(self) -> "Endpoint":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._handle is not None:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else f"id {self._id:#x}"
        return f"<hsipc.Endpoint {self._name!r} {state}>"

    def __getstate__(self) -> None:
        raise TypeError("an Endpoint cannot be pickled; send its id (an int) instead")

    def _closed(self) -> Closed:
        return Closed(Status.EINVAL, context=f"endpoint {self._name!r} is closed")

    # -- sending

    def send(self, to: Union[int, "Endpoint"], buf: "Buffer", length: Optional[int] = None) -> None:
        """Appends `buf` with `length` declared bytes to the inbox of endpoint
        id `to` (hsipc_send_offset). `length` defaults to the whole view:
        a Buffer's capacity, a Message's length.

        On success the receiver owns the buffer: `buf` is spent and its
        ``data`` view released. On any error the sender still owns it and
        ``buf.data`` is a fresh view (the old one is released).

        A message received shared (:attr:`Message.shared`) is not this
        process's to send on: BadOffset, as from C, raised before anything
        is touched, so the message and its views stay as they were.

        Raises PeerGone (closed, stale, dead or made-up id), Full,
        InvalidArgument (length > capacity), SpentBuffer (already sent or
        released), BadOffset (a shared message), BufferError (its view is
        still exported), Corrupt.
        """
        try:
            region = buf._region
            off = buf._key  # the offset, but for a shared message (refused in _send_args)
            view = buf._view
        except AttributeError:
            raise TypeError(f"send() needs a Buffer or Message, not {type(buf).__name__}") from None
        if length is None:
            length = buf._n
        try:
            # Negative values shift to -1, and what C cannot hold to non-zero:
            # ctypes would silently truncate them. Non-ints raise TypeError.
            bad = to >> 32 or length >> _SIZE_BITS or region is not self._region or off >> 64
        except TypeError:  # `to` is an Endpoint, or something else entirely
            bad = True
        if bad:
            to, length = self._send_args(to, buf, length)
        live = region._live
        got = live.pop(off, None)
        if got is not view:
            raise _spent_error(buf, live, off, got, "send")
        try:
            view.release()
        except BufferError:
            live[off] = view
            raise
        rc = _fsend(self._handle, to, off, length)
        if rc:
            if region._handle is None:
                raise region._closed()  # the buffer went with its region
            _renew(buf, region, off)  # still the sender's
            if self._handle is None:
                raise self._closed()
            raise error(rc, f"hsipc_send_offset(to={to:#x}, length={length})")

    def _send_args(self, to: object, buf: "Buffer", length: object) -> Tuple[int, int]:
        """The slow path of send's argument checks."""
        _check_buffer(self, buf, "send")
        if isinstance(to, Endpoint):
            to = to._id
        if isinstance(to, bool) or not isinstance(to, int):
            raise TypeError(f"send() needs an endpoint id (int) or Endpoint, not {type(to).__name__}")
        if isinstance(length, bool) or not isinstance(length, int):
            raise TypeError(f"length must be an int, not {type(length).__name__}")
        if not 0 <= to <= _U32:
            raise PeerGone(Status.EPEER, context=f"endpoint id {to} is out of range")
        if not 0 <= length <= _SIZE_MAX:
            raise InvalidArgument(Status.EINVAL, context=f"length {length} is out of range")
        return int(to), int(length)

    # -- topics

    def subscribe(self, topic: Union["Topic", _Name]) -> None:
        """From now on, messages published to `topic` (a :class:`Topic`, or
        a name: found or created) also arrive in this endpoint's inbox
        (hsipc_subscribe), mixed with those sent to it and taken by the same
        :meth:`poll` and :meth:`recv`; they come :attr:`Message.shared`.
        Subscribing again changes nothing. Closing the endpoint unsubscribes
        it. A message published meanwhile from another thread or process
        may or may not reach it.

        Raises InvalidArgument (bad name), NoMemory (the topic has its most
        subscribers, or the region its most topics), PeerGone (the endpoint
        was closed by a reap), Closed, SysError.
        """
        name, raw = _topic_name(topic)
        rc = _fsubscribe(self._handle, raw)  # holding the GIL: see _lib.FAST_ERRNO_FUNCTIONS
        if rc:
            if self._handle is None:
                raise self._closed()
            if rc == _ENOMEM:
                raise NoMemory(rc, context=f"hsipc_subscribe({name!r}): the topic has its most subscribers "
                               "(max_subscribers), or the region its most topics")
            _named_call(rc, "hsipc_subscribe", name, raw)

    def unsubscribe(self, topic: Union["Topic", _Name]) -> None:
        """Stops the delivery of `topic` (a :class:`Topic` or a name) to this
        endpoint (hsipc_unsubscribe); messages already in its inbox stay.

        Raises NotFound (not subscribed to it), InvalidArgument (bad name),
        Closed, SysError.
        """
        name, raw = _topic_name(topic)
        rc = _funsubscribe(self._handle, raw)  # holding the GIL: see _lib.FAST_ERRNO_FUNCTIONS
        if rc:
            if self._handle is None:
                raise self._closed()
            if rc == _ENOENT:
                raise NotFound(rc, context=f"hsipc_unsubscribe({name!r}): endpoint {self._name!r} "
                               "is not subscribed to it")
            _named_call(rc, "hsipc_unsubscribe", name, raw)

    def publish(self, topic: Union["Topic", int, _Name], buf: "Buffer",
                length: Optional[int] = None) -> PublishResult:
        """Delivers `buf` with `length` declared bytes to every current
        subscriber of `topic` whose inbox has room (hsipc_publish): a
        :class:`Topic`, its id, or its name (then found or created through
        :meth:`Region.topic` first, a call that takes the region's lock:
        keep the Topic where you publish often). `length` defaults to the
        whole view, as for :meth:`send`.

        The bytes are written once and read in place by every subscriber,
        in any process: each receives a :attr:`Message.shared` message,
        read-only, and the buffer returns to its pool when the last of them
        releases it. Returns ``PublishResult(delivered, skipped)``: how many
        subscribers received it, and how many missed it because their inbox
        was full (a slow subscriber never holds up the publisher or the
        others).

        On success `buf` is spent, as after :meth:`send`, even when no one
        received it (then it went back to its pool at once). On any error
        the caller still owns it and ``buf.data`` is a fresh view. A message
        received shared cannot be published on: BadOffset, raised before
        anything is touched.

        Raises InvalidArgument (length > capacity, an id no topic has, a
        bad name), SpentBuffer (already sent or released), BadOffset (a
        shared message), NoMemory (a name, and no room for another topic),
        BufferError (its view is still exported), Closed.
        """
        try:
            region = buf._region
            off = buf._key  # the offset, but for a shared message (refused in _publish_args)
            view = buf._view
        except AttributeError:
            raise TypeError(f"publish() needs a Buffer or Message, not {type(buf).__name__}") from None
        if length is None:
            length = buf._n
        tid = topic.id if topic.__class__ is Topic else topic
        try:
            bad = tid >> 32 or length >> _SIZE_BITS or region is not self._region or off >> 64
        except TypeError:  # a name, or something else entirely
            bad = True
        if bad:
            tid, length = self._publish_args(topic, buf, length)
        live = region._live
        got = live.pop(off, None)
        if got is not view:
            raise _spent_error(buf, live, off, got, "publish")
        try:
            view.release()
        except BufferError:
            live[off] = view
            raise
        delivered = ctypes.c_uint32()  # per call: another thread may publish through this endpoint
        skipped = ctypes.c_uint32()
        rc = _fpublish(self._handle, tid, off, length, delivered, skipped)
        if rc:
            if region._handle is None:
                raise region._closed()  # the buffer went with its region
            _renew(buf, region, off)  # still the caller's
            if self._handle is None:
                raise self._closed()
            raise error(rc, f"hsipc_publish(topic={tid:#x}, length={length})")
        return PublishResult(delivered.value, skipped.value)

    def _publish_args(self, topic: object, buf: "Buffer", length: object) -> Tuple[int, int]:
        """The slow path of publish's argument checks; opens a topic given by name."""
        _check_buffer(self, buf, "publish")
        if isinstance(length, bool) or not isinstance(length, int):
            raise TypeError(f"length must be an int, not {type(length).__name__}")
        if not 0 <= length <= _SIZE_MAX:
            raise InvalidArgument(Status.EINVAL, context=f"length {length} is out of range")
        if isinstance(topic, (str, bytes)):
            topic = self._region.topic(topic)
        if isinstance(topic, Topic):
            topic = topic.id
        if isinstance(topic, bool) or not isinstance(topic, int):
            raise TypeError(f"publish() needs a Topic, a topic id (int) or a name, not {type(topic).__name__}")
        if not 0 <= topic <= _U32:
            raise InvalidArgument(Status.EINVAL, context=f"topic id {topic} is out of range")
        return int(topic), int(length)

    # -- receiving

    def poll(self, timeout: Optional[float] = None) -> Optional["Message"]:
        """The next message, or None when none arrived within `timeout` seconds
        (hsipc_poll). ``None`` waits without limit, ``0`` checks once without
        a system call, a positive number waits at most that long.
        :meth:`recv` raises TimeoutError instead of returning None.

        A waiting poll spins briefly, then sleeps; it returns to the
        interpreter every POLL_SLICE seconds (0.1), so Ctrl-C interrupts it.
        Other threads run while it waits.

        Raises InvalidArgument (negative or NaN timeout, or another thread
        is polling this endpoint, or an arecv awaits it), Closed, Corrupt
        (the inbox is damaged), SysError.
        """
        if timeout == 0:
            # The GIL is held throughout this call, so no other thread can be
            # inside the C poll unless it is waiting in a blocking one.
            if self._waiting:
                raise self._busy()
            rc = _fpoll(self._handle, self._msg, _NS0)
            if rc:
                if rc == _EAGAIN:
                    return None
                raise self._poll_error(rc)
            # Interrupted between here and the registration below, the buffer
            # stays held until detach: the window is a few instructions.
            off, length, sender, flags, data = _MSG.unpack_from(self._msgview)
            region = self._region
            if flags & _SHARED:
                return _take_shared(region, next(region._serial) << 64 | off, off, length, sender, flags, data)
            try:
                v = region._view
                if v is None:
                    v = region._map(data - off)
                view = v[off:off + length]
            except ValueError:  # the mapping's view, released by a detach meanwhile
                if region._handle is None:
                    raise region._closed() from None
                raise
            m = _new(Message)
            m._region = region
            m._off = off
            m._key = off
            m._view = view
            m._n = length
            m._sender = sender
            m._flags = flags
            region._live[off] = view
            if region._handle is None:  # detached by another thread meanwhile
                raise _unregister(region, off, view)
            return m
        msg = self._msg
        msg.off = 0  # not filled yet: see the except clause
        key = None  # a shared message's, once chosen: see the except clause
        lock = self._lock
        try:
            if timeout is None:
                deadline = None
                ns = _SLICE
            else:
                deadline, ns = _first_slice(timeout)
            while True:
                if not lock.acquire(False):
                    raise self._busy()
                if self._waiting:  # an arecv awaits this endpoint
                    lock.release()
                    raise self._busy()
                try:
                    handle = self._handle
                    if handle is None:
                        raise self._closed()
                    self._waiting = True
                    rc = _wpoll(handle, msg, ns)
                finally:
                    self._waiting = False
                    lock.release()
                # HSIPC_EINTR: a signal handler is due. Back in Python it runs
                # (an exception it raises propagates); then wait on (PEP 475).
                if rc != _EAGAIN and rc != _EINTR:
                    break
                if deadline is not None:
                    ns = deadline - _monotonic_ns()
                    if ns <= 0:
                        return None
                    if ns > _SLICE_NS:
                        ns = _SLICE_NS
            if rc:
                raise self._poll_error(rc)
            off, length, sender, flags, data = _MSG.unpack_from(self._msgview)
            region = self._region
            if flags & _SHARED:
                key = next(region._serial) << 64 | off
                return _take_shared(region, key, off, length, sender, flags, data)
            v = region._view
            if v is None:
                v = region._map(data - off)
            view = v[off:off + length]
            m = _new(Message)
            m._region = region
            m._off = off
            m._key = off
            m._view = view
            m._n = length
            m._sender = sender
            m._flags = flags
            region._live[off] = view
            if region._handle is None:  # detached by another thread meanwhile
                raise _unregister(region, off, view)
            return m
        except BaseException as e:
            # A message taken but not yet handed out when an exception
            # (KeyboardInterrupt) struck goes back to its pool. (A shared one
            # is registered under `key`; never under `off`, which this
            # process cannot hold otherwise meanwhile.)
            off = msg.off
            region = self._region
            handle = region._handle
            if off and (off if key is None else key) not in region._live and handle is not None:
                _frelease(handle, off)
            if handle is None and isinstance(e, ValueError) and not isinstance(e, Error):
                raise region._closed() from None
            raise

    def recv(self, timeout: Optional[float] = None) -> "Message":
        """The next message, as :meth:`poll` waits for it, but never None::

            with ep.recv(timeout=1.0) as msg:
                handle(msg.data)

        Raises Again, a TimeoutError, when nothing arrived within `timeout`
        seconds (``None``: no limit; ``0``: one check), and what
        :meth:`poll` raises.
        """
        msg = self.poll(timeout)
        if msg is None:
            raise Again(_EAGAIN, context=f"recv on endpoint {self._name!r}, timeout {timeout} s")
        return msg

    def poll_many(self, limit: int = 64, timeout: Optional[float] = None, linger: float = 0) -> List["Message"]:
        """Up to `limit` messages in one call (hsipc_poll_many): waits for the
        first as :meth:`poll` does with `timeout`, then takes those already
        queued behind it. An empty list when nothing arrived in time.

        One ctypes call for the whole batch, and the library fetches the
        batch's buffer headers together: when messages come in bursts this
        costs far less per message than :meth:`poll`. Waiting, threads and
        Ctrl-C behave as in :meth:`poll`.

        With `linger` > 0 (seconds) it is hsipc_poll_batch: once the first
        message is there it waits up to `linger` more for `limit` messages
        to be queued. For a fast stream of small messages that keeps this
        receiver off the cache lines the sender is writing, which lets the
        sender run much faster; each message may wait up to `linger` longer.

        Raises InvalidArgument (`limit` < 1, negative or NaN timeout,
        negative, NaN or infinite linger, or another thread is polling or
        an arecv awaits the endpoint), Closed, Corrupt, SysError.
        """
        if limit.__class__ is not int or limit < 1:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError(f"limit must be an int, not {type(limit).__name__}")
            raise InvalidArgument(Status.EINVAL, context=f"poll_many limit {limit}")
        linger_ns = 0 if linger.__class__ is int and linger == 0 else _linger_ns(linger)
        batch = self._batch
        if batch is None or len(batch) < limit:
            batch = self._batch = (_lib.hsipc_msg * limit)()
            self._batchview = memoryview(batch).cast("B")
        count = self._count
        count.value = 0  # none taken yet: see the except clause
        keys: List[int] = []  # of the messages registered or about to be: see the except clause
        try:
            if timeout == 0 and not linger_ns:
                if self._waiting:
                    raise self._busy()
                rc = _fpoll_many(self._handle, batch, limit, _NS0, count)
            else:
                # Lingering spins in the library: never with the GIL held.
                lock = self._lock
                if timeout is None:
                    deadline = None
                    ns = _SLICE
                elif timeout == 0:
                    deadline, ns = _monotonic_ns(), 0
                else:
                    deadline, ns = _first_slice(timeout)
                while True:
                    if not lock.acquire(False):
                        raise self._busy()
                    if self._waiting:  # an arecv awaits this endpoint
                        lock.release()
                        raise self._busy()
                    try:
                        handle = self._handle
                        if handle is None:
                            raise self._closed()
                        self._waiting = True
                        if linger_ns:
                            rc = _wpoll_batch(handle, batch, limit, ns, linger_ns, count)
                        else:
                            rc = _wpoll_many(handle, batch, limit, ns, count)
                    finally:
                        self._waiting = False
                        lock.release()
                    if rc != _EAGAIN and rc != _EINTR:  # EINTR: as in poll
                        break
                    if deadline is not None:
                        ns = deadline - _monotonic_ns()
                        if ns <= 0:
                            break
                        if ns > _SLICE_NS:
                            ns = _SLICE_NS
            if rc:
                if rc == _EAGAIN or rc == _EINTR:  # EINTR: the time ran out after a handler ran
                    return []
                raise self._poll_error(rc)
            region = self._region
            view = self._batchview
            unpack = _MSG.unpack_from
            live = region._live
            out = []
            for i in range(count.value):
                off, length, sender, flags, data = unpack(view, i * 32)
                if flags & _SHARED:
                    key = next(region._serial) << 64 | off
                    keys.append(key)
                    out.append(_take_shared(region, key, off, length, sender, flags, data))
                    continue
                try:
                    v = region._view
                    if v is None:
                        v = region._map(data - off)
                    mview = v[off:off + length]
                except ValueError:  # the mapping's view, released by a detach meanwhile
                    if region._handle is None:
                        raise region._closed() from None
                    raise
                m = _new(Message)
                m._region = region
                m._off = off
                m._key = off
                m._view = mview
                m._n = length
                m._sender = sender
                m._flags = flags
                keys.append(off)
                live[off] = mview
                out.append(m)
            if region._handle is None:  # detached by another thread meanwhile
                for m in out:
                    _unregister(region, m._key, m._view)
                raise region._closed()
            return out
        except BaseException:
            # Messages taken but not yet handed out when an exception
            # (KeyboardInterrupt) struck go back to their pools.
            # A shared one is registered under its key, chosen first; never
            # under `off`, which this process cannot hold otherwise meanwhile.
            region = self._region
            handle = region._handle
            if handle is not None:
                for i in range(count.value):
                    off = _MSG.unpack_from(self._batchview, i * 32)[0]  # type: ignore[arg-type]
                    if (keys[i] if i < len(keys) else off) not in region._live:
                        _frelease(handle, off)
            raise

    # -- event loops

    def fileno(self) -> int:
        """The endpoint's file descriptor (hsipc_endpoint_fd), so that
        :mod:`selectors`, :func:`select.select` and :mod:`select`'s poll and
        epoll take the Endpoint itself: it becomes readable when a message
        may be waiting, once :meth:`arm` armed it. The same number every
        call. The endpoint owns it: never read from it or close it, and
        unregister it before the endpoint closes (:meth:`close`, or the
        region's detach), which closes it.

        Raises Closed, PermissionDenied (the fd's socket file cannot be
        given the region's group), NoMemory (out of file descriptors),
        SysError.
        """
        fd = self._fd
        if fd >= 0:
            if self._handle is None:
                raise self._closed()
            return fd
        out = ctypes.c_int(-1)
        # One expression from reading the handle to the call's return, with
        # the GIL held: close() and detach() clear the handle before they
        # free it (a NULL handle gives HSIPC_EINVAL).
        rc = _fendpoint_fd(self._handle, out)
        if rc:
            if self._handle is None:
                raise self._closed()
            raise error(rc, f"hsipc_endpoint_fd({self._name!r})")
        self._fd = out.value
        return out.value

    def arm(self) -> bool:
        """Prepares :meth:`fileno` for a wait (hsipc_endpoint_arm).

        Returns True when the inbox is empty and the endpoint is now armed:
        the next message sent to it makes the fd readable. Returns False
        when a message is already waiting: poll it now, do not wait. Any
        poll disarms the endpoint and clears the fd's readiness, so take
        what is there, then arm before every wait::

            sel = selectors.DefaultSelector()
            sel.register(ep, selectors.EVENT_READ)
            while True:
                while (msg := ep.poll(0)) is not None:
                    handle(msg)
                if ep.arm():             # False: one came meanwhile; poll again
                    sel.select(timeout=1.0)

        A sender that dies between its message and its wake-up leaves the
        fd unreadable until a reap finds it dead: a loop that must not
        depend on that waits with a timeout, as above. :meth:`arecv` does
        all this for asyncio.

        Raises InvalidArgument (another thread is polling the endpoint, or
        an arecv awaits it), Closed, and what :meth:`fileno` raises.
        """
        if self._waiting:  # with the GIL held from here to the call's return
            raise self._busy()
        rc = _farm(self._handle)
        if rc == 0:
            return True
        if rc == 1:
            return False
        if self._handle is None:
            raise self._closed()
        raise error(rc, f"hsipc_endpoint_arm({self._name!r})")

    async def arecv(self, timeout: Optional[float] = None) -> "Message":
        """The next message, awaited in the running asyncio event loop: the
        coroutine of :meth:`recv`. It waits on :meth:`fileno` through
        ``loop.add_reader``, without a thread and without spinning::

            msg = await ep.arecv(timeout=5.0)
            with msg:
                handle(msg.data)

        `timeout` is in seconds as for :meth:`recv`: ``None`` (the default)
        waits without limit, ``0`` looks once, a positive number waits at
        most that long. When nothing came in time it raises Again, as
        :meth:`recv` does: a TimeoutError, which asyncio.TimeoutError is
        since Python 3.11 (before 3.11, catch TimeoutError or hsipc.Again,
        not asyncio.TimeoutError). Nothing is taken from the inbox then.

        A message waiting already is returned at once, without yielding to
        the event loop (as ``asyncio.Queue.get`` does): a consumer of an
        endless stream lets its other tasks run with ``await
        asyncio.sleep(0)`` now and then.

        Cancelling it (``task.cancel()``, ``asyncio.wait_for``,
        ``asyncio.timeout``) is safe: a message is taken only after the
        wait ends and is returned at once, so a cancelled arecv leaves every
        message in the inbox. Whatever ends the wait removes its reader from
        the loop. It waits on a duplicate of the endpoint's fd, so closing
        the endpoint meanwhile cannot leave a reader on a closed or reused
        descriptor: :meth:`close` or the region's detach, from any thread,
        makes a pending arecv raise Closed at once.

        One receiver per endpoint: while an arecv waits, a second arecv and
        any poll or recv of the endpoint raise InvalidArgument. Before and
        after, poll and recv (also with a timeout) may be used on the same
        endpoint. Even without a wake-up it looks again every second, so
        a sender that died between its message and its wake-up delays the
        message by at most that.

        Raises Again (a TimeoutError), InvalidArgument (negative or NaN
        timeout, another arecv or poll in progress), Closed, and what
        :meth:`poll` and :meth:`fileno` raise; RuntimeError without a
        running event loop.
        """
        import asyncio  # here: importing it costs more than the rest of hsipc

        loop = asyncio.get_running_loop()
        deadline = _await_deadline(timeout, loop)
        if self._await is not None and self._handle is not None:
            raise self._busy()
        msg = self.poll(0)
        if msg is not None:
            return msg
        if deadline is not None and loop.time() >= deadline:
            raise Again(_EAGAIN, context=f"arecv on endpoint {self._name!r}, timeout {timeout} s")
        # Our own descriptor: the endpoint's is closed by close() or
        # detach() in any thread, and its number may be reused at once;
        # this one the loop's thread closes, after removing the reader.
        fd = os.dup(self.fileno())
        waiter = _AsyncWait(loop)
        self._await = waiter
        try:
            while True:
                if self.arm():
                    self._waiting = True  # refuse other receivers meanwhile
                    fut = None
                    timer = None
                    try:
                        now = loop.time()
                        if deadline is not None and now >= deadline:
                            raise Again(_EAGAIN, context=f"arecv on endpoint {self._name!r}, timeout {timeout} s")
                        fut = loop.create_future()
                        waiter.fut = fut
                        loop.add_reader(fd, _wake_reader, loop, fd, fut)
                        when = now + _AWAIT_RECHECK
                        timer = loop.call_at(when if deadline is None or when < deadline else deadline,
                                             _wake, fut)
                        # close() clears the handle, then wakes waiter.fut:
                        # one of the two sees the other's write.
                        if self._handle is None:
                            raise self._closed()
                        await fut
                    finally:
                        self._waiting = False
                        waiter.fut = None
                        if timer is not None:
                            timer.cancel()
                        if fut is not None:
                            loop.remove_reader(fd)
                msg = self.poll(0)
                if msg is not None:
                    return msg
                if deadline is not None and loop.time() >= deadline:
                    raise Again(_EAGAIN, context=f"arecv on endpoint {self._name!r}, timeout {timeout} s")
        finally:
            if self._await is waiter:
                self._await = None
            os.close(fd)

    def _wake_async(self) -> None:
        """After the handle was cleared: ends the wait of a pending arecv,
        which then raises Closed. Any thread."""
        waiter = self._await
        if waiter is not None:
            waiter.wake()

    def _poll_error(self, rc: int) -> Error:
        if self._handle is None:
            return self._closed()
        return error(rc, "hsipc_poll")

    def _busy(self) -> Error:
        if self._handle is None:
            return self._closed()
        if self._await is not None:
            return InvalidArgument(Status.EINVAL, context=f"endpoint {self._name!r} has an arecv() waiting on it; "
                                   "one receiver per endpoint")
        return InvalidArgument(Status.EINVAL, context=f"endpoint {self._name!r} is being polled by another thread")


# ---- Event loops ------------------------------------------------------------------

# An awaiting arecv looks again at least this often (seconds) without a
# wake-up: a sender that dies between its message and its wake-up leaves
# the fd unreadable until a reap (hsipc_endpoint_arm).
_AWAIT_RECHECK = 1.0


class _AsyncWait:
    """The state of an Endpoint's pending arecv that other threads reach."""

    __slots__ = ("loop", "fut")

    def __init__(self, loop: "asyncio.AbstractEventLoop") -> None:
        self.loop = loop
        self.fut: "Optional[asyncio.Future[None]]" = None  # set while it awaits

    def wake(self) -> None:
        fut = self.fut
        if fut is None:
            return  # not awaiting: it sees the closed handle at its next call
        try:
            self.loop.call_soon_threadsafe(_wake, fut)
        except RuntimeError:  # the loop is closed: nothing will resume it
            pass


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():  # not cancelled, nor woken already
        fut.set_result(None)


def _wake_reader(loop: "asyncio.AbstractEventLoop", fd: int, fut: "asyncio.Future[None]") -> None:
    # At once: the fd stays readable until the next poll, and a
    # level-triggered loop would call us again and again meanwhile.
    loop.remove_reader(fd)
    _wake(fut)


def _await_deadline(timeout: object, loop: "asyncio.AbstractEventLoop") -> Optional[float]:
    """arecv's deadline in loop time, or None for no limit."""
    if timeout is None:
        return None
    cls = timeout.__class__
    if cls is not float and cls is not int:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"timeout must be a number of seconds or None, not {type(timeout).__name__}")
    if not timeout >= 0:  # negative or NaN
        raise InvalidArgument(Status.EINVAL, context=f"arecv timeout {timeout!r}")
    if timeout == _INF:
        return None
    return loop.time() + timeout  # type: ignore[operator]


# ---- Buffers and messages -------------------------------------------------------


def _unregister(region: Region, key: int, view: memoryview) -> Closed:
    """Undoes a registration that raced a detach in another thread; the
    buffer itself went back to its pool with the region."""
    if region._live.get(key) is view:
        del region._live[key]
    view.release()
    return region._closed()


def _renew(buf: "Buffer", region: Region, off: int) -> None:
    """After a failed send or publish: the sender still owns `buf` (never a
    shared message: those are refused first); give it a fresh view."""
    fresh = region._view[off:off + buf._n]
    buf._view = fresh
    region._live[off] = fresh


def _spent_error(buf: "Buffer", live: dict, key: int, got: object, what: str) -> Error:
    """The error for a spent `buf`. live.pop() returned `got`: the entry of a
    newer holder of the same key, if not None, which goes back."""
    if got is not None:
        live[key] = got
    if not isinstance(buf, Buffer):
        raise TypeError(f"{what}() needs a Buffer or Message, not {type(buf).__name__}")
    if buf._region._handle is None:
        return Closed(Status.EINVAL, context=f"{what}: region {buf._region._name!r} is detached")
    kind = "message" if isinstance(buf, Message) else "buffer"
    return SpentBuffer(Status.EBADOFF,
                       context=f"{what}: this {kind} (offset {buf._off:#x}) was already released or sent")


def _check_buffer(ep: Endpoint, buf: object, what: str) -> None:
    """send's and publish's checks of `buf`, on their slow path."""
    if not isinstance(buf, Buffer):
        raise TypeError(f"{what}() needs a Buffer or Message, not {type(buf).__name__}")
    if buf._region is not ep._region:
        raise InvalidArgument(Status.EINVAL,
                              context="the buffer belongs to another Region handle than the endpoint")
    if buf._key >> 64 and not buf.spent:  # a spent one raises SpentBuffer next
        raise BadOffset(Status.EBADOFF,
                        context=f"{what}: this message (offset {buf._off:#x}) was received shared, from a "
                        f"topic, and is not this process's to {what} on; copy its bytes into a buffer of your own")


def _topic_name(topic: object) -> Tuple[object, bytes]:
    """The name of `topic` (a Topic, str or bytes) as given, and as C takes it."""
    name = topic.name if topic.__class__ is Topic else topic  # type: ignore[attr-defined]
    if not isinstance(name, (str, bytes)):
        raise TypeError(f"a topic must be a Topic or a name (str or bytes), not {type(topic).__name__}")
    return name, _name_arg(name, "topic")


def _take_shared(region: Region, key: int, off: int, length: int, sender: int, flags: int,
                 data: int) -> "Message":
    """The Message for a message received shared (HSIPC_MSG_SHARED), made
    and registered under `key` (see the module docstring): its view is
    read-only, since the bytes are the other subscribers' too."""
    try:
        v = region._roview
        if v is None:
            region._map(data - off)
            v = region._roview
            if v is None:  # detached meanwhile
                raise region._closed()
        view = v[off:off + length]
    except ValueError:  # the mapping's view, released by a detach meanwhile
        if region._handle is None:
            raise region._closed() from None
        raise
    m = _new(Message)
    m._region = region
    m._off = off
    m._key = key
    m._view = view
    m._n = length
    m._sender = sender
    m._flags = flags
    region._live[key] = view
    if region._handle is None:  # detached by another thread meanwhile
        raise _unregister(region, key, view)
    return m


class Buffer:
    """A buffer this process holds; made by :meth:`Region.alloc`.

    Give it up with :meth:`release`, by sending it (:meth:`Endpoint.send`)
    or publishing it (:meth:`Endpoint.publish`), by leaving a ``with buf:``
    block, or by dropping the last reference (garbage collection releases
    it, as it closes a file). After that it is *spent*: every method raises
    SpentBuffer and ``data`` raises ValueError on use.
    """

    # _key: the buffer's key in Region._live (the module docstring): _off
    # itself, but for a message received shared.
    __slots__ = ("_region", "_off", "_key", "_view", "_n", "_cap", "__weakref__")

    if TYPE_CHECKING:
        @property
        def data(self) -> memoryview:
            ...
    else:
        data = property(attrgetter("_view"), doc=(
            "A writable, zero-copy memoryview of the buffer (format 'B'): its whole "
            "capacity for a Buffer, ``length`` bytes for a Message; read-only for a "
            "message received shared (:attr:`Message.shared`). Released (ValueError "
            "on any use) once the buffer is released, sent or its region detached; "
            "keep the Buffer or Message alive while you use it (dropping the object "
            "releases the buffer). What you derive from it (slices, casts, "
            "memoryview(view), ctypes from_buffer, numpy.frombuffer) is never revoked: "
            "it is always safe memory, but after the release it may alias a buffer that "
            "is someone else's by then, and after the region's detach it is private "
            "zero-filled memory; ``bytes(view)`` is a copy. While something holds a buffer "
            "export of it (pickle.PickleBuffer, a C extension), release, send and detach "
            "raise BufferError instead."))

    @property
    def offset(self) -> int:
        """The buffer's offset in the region (hsipc_off)."""
        return self._off

    @property
    def capacity(self) -> int:
        """Usable bytes of the buffer (hsipc_capacity)."""
        try:
            return self._cap
        except AttributeError:  # a Message: found out on first use
            if self.spent:
                raise _spent_error(self, {}, self._key, None, "capacity")
            cap = self._region._caps.get(self._off) or self._region._capacity(self._off)
            self._cap = cap
        return cap

    @property
    def region(self) -> Region:
        """The Region handle it belongs to."""
        return self._region

    @property
    def spent(self) -> bool:
        """True once released, sent, or its region detached."""
        return self._region._live.get(self._key) is not self._view

    def release(self) -> None:
        """Gives the buffer back to its pool (hsipc_release). For a message
        received shared, lets go this message's reference: the buffer
        returns to its pool when every subscriber has let go of it, and the
        other holders' views (in this process too) are unaffected.

        Raises SpentBuffer (already released or sent: the binding checks, so a
        double release can never free a buffer this process got since),
        Closed (region detached), BufferError (its view is still exported).
        """
        region = self._region
        key = self._key
        view = self._view
        live = region._live
        got = live.pop(key, None)
        if got is not view:
            raise _spent_error(self, live, key, got, "release")
        try:
            view.release()
        except BufferError:
            live[key] = view
            raise
        rc = _frelease(region._handle, self._off)
        if rc:
            if region._handle is None:  # detached by another thread meanwhile
                raise region._closed()
            raise error(rc, "hsipc_release")

    def __enter__(self) -> "Buffer":
        return self

    def __exit__(self, *exc: object) -> None:
        if self._region._live.get(self._key) is self._view:
            self.release()

    def __del__(self) -> None:
        try:
            region = self._region
            view = self._view
            live = region._live
            key = self._key
            if live.get(key) is view and region._handle is not None:
                view.release()  # BufferError while exported: keep it held
                del live[key]
                _frelease(region._handle, self._off)
        except Exception:
            pass

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        state = "spent" if self.spent else f"{self._n} bytes"
        if self._key >> 64:
            state += " shared"
        return f"<hsipc.{type(self).__name__} offset={self._off:#x} {state}>"

    def __getstate__(self) -> None:
        raise TypeError("a Buffer cannot be pickled; send it through an Endpoint")


class Message(Buffer):
    """A received buffer; made by :meth:`Endpoint.poll`. The receiver owns it:
    read and write ``data`` in place, forward it with :meth:`Endpoint.send`
    (zero-copy), or :meth:`release` it. Everything said of :class:`Buffer`
    holds.

    A message published to a topic (:attr:`shared`) is one buffer that every
    subscriber reads in place: its ``data`` is read-only, it cannot be sent
    or published on (BadOffset), and :meth:`release` lets go of this
    receiver's reference only."""

    __slots__ = ("_sender", "_flags")

    @property
    def length(self) -> int:
        """The bytes the sender declared; ``data`` covers exactly these."""
        return self._n

    @property
    def sender(self) -> int:
        """The id of the endpoint that sent it, for replies (for a shared
        message, the endpoint that published it)."""
        return self._sender

    @property
    def flags(self) -> int:
        """The message's HSIPC_MSG_* bits (hsipc_msg.flags)."""
        return self._flags

    @property
    def shared(self) -> bool:
        """True for a message published to a topic (HSIPC_MSG_SHARED): the
        buffer is shared with the topic's other subscribers, so ``data`` is
        read-only and the message cannot be sent or published on."""
        return bool(self._flags & _SHARED)


# ---- fork() and exit ----------------------------------------------------------------


def _after_fork_in_child() -> None:
    # The C library forbids using a handle in a forked child; its own atfork
    # handler already let go of the parent's process slots.
    for region in list(_regions):
        region._forget()
    _regions.clear()


def _at_exit() -> None:
    for region in list(_regions):
        try:
            region.detach()
        except BaseException:
            pass


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
