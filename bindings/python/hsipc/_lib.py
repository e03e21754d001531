# SPDX-License-Identifier: MIT
"""Finding libhsipc, and the ctypes mirror of include/hsipc.h.

Search order (the first that loads wins):

1. ``HSIPC_LIBRARY``, when set and non-empty: that path and nothing else, so
   a test or a deployment is never silently served a different build;
2. ``libhsipc.so.0`` through the dynamic loader (an installed library);
3. the build tree: from this package upward, the first directory holding
   ``build*/libhsipc.so.0``; ``build-release`` first, then the others newest
   first. A build that cannot be loaded into this interpreter (a sanitizer
   build wants its runtime loaded first) is skipped.

Every function of the header is declared here with argtypes and restype,
twice: on a :class:`ctypes.CDLL`, which releases the GIL during the call,
and on a :class:`ctypes.PyDLL`, which keeps it. The hot, never-blocking calls
(alloc, send, publish, release, poll and poll_many with timeout 0, ptr,
capacity) go through the PyDLL: they take well under a microsecond, and dropping and retaking the GIL
around them would cost a noticeable part of that. Anything that can wait
(attach, a blocking poll, endpoint open and close, reap) goes through the CDLL
so other threads run meanwhile; it has ``use_errno=True`` so HSIPC_ESYS can
report errno. A third handle, a PyDLL with ``use_errno=True``, serves
hsipc_endpoint_fd and hsipc_endpoint_arm: they never block, may fail with
HSIPC_ESYS, and must not overlap a poll of the same endpoint, which holding
the GIL ensures; and hsipc_subscribe and hsipc_unsubscribe, which must not
overlap the endpoint's close (see FAST_ERRNO_FUNCTIONS).
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Dict, List, Optional, Tuple

SONAME = "libhsipc.so.0"

# The header's constants.
HSIPC_FOREVER = -1
HSIPC_MAX_POOLS = 8
HSIPC_NAME_MAX = 63
HSIPC_MAX_SUBSCRIBERS = 64
HSIPC_MSG_SHARED = 1  # hsipc_msg.flags: received from hsipc_publish, shared with other subscribers
# The version of include/hsipc.h this binding mirrors; the loaded library
# must have the same major version (its SONAME), and may be newer.
HEADER_VERSION = (0, 1, 0)


# ---- Types ----------------------------------------------------------------


# The opaque handles (hsipc_region *, hsipc_endpoint *) are plain c_void_p:
# ctypes converts a typed POINTER(opaque struct) argument about 130 ns slower
# per call, a third of a whole hsipc_poll call from Python.
hsipc_region_p = c_void_p
hsipc_endpoint_p = c_void_p
hsipc_off = c_uint64
hsipc_id = c_uint32


class hsipc_pool_config(Structure):
    _fields_ = [
        ("buffer_size", c_uint64),
        ("buffer_count", c_uint32),
        ("reserved", c_uint32),
    ]


class hsipc_config(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("max_endpoints", c_uint32),
        ("inbox_capacity", c_uint32),
        ("pool_count", c_uint32),
        ("pools", hsipc_pool_config * HSIPC_MAX_POOLS),
        ("mode", c_uint32),
        ("max_buffers_per_process", c_uint32),
        ("spin_ns", c_int64),
        ("max_topics", c_uint32),
        ("max_subscribers", c_uint32),
    ]


class hsipc_msg(Structure):
    _fields_ = [
        ("off", hsipc_off),
        ("length", c_uint64),
        ("from_", hsipc_id),  # `from` in C, a keyword in Python
        ("flags", c_uint32),  # HSIPC_MSG_* bits
        ("data", c_void_p),
    ]


class hsipc_pool_stats(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("buffer_count", c_uint32),
        ("buffer_size", c_uint64),
        ("free_count", c_uint32),
        ("held_count", c_uint32),
        ("queued_count", c_uint32),
        ("shared_count", c_uint32),
    ]


class hsipc_endpoint_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("id", hsipc_id),
        ("name", c_char * (HSIPC_NAME_MAX + 1)),
        ("owner_pid", c_int32),
        ("owner_alive", c_uint32),
        ("queued", c_uint32),
        ("reserved", c_uint32),
    ]


class hsipc_topic_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("id", hsipc_id),
        ("name", c_char * (HSIPC_NAME_MAX + 1)),
        ("subscriber_count", c_uint32),
        ("reserved", c_uint32),
        ("subscribers", hsipc_id * HSIPC_MAX_SUBSCRIBERS),
    ]


# name: (restype, argtypes), in the header's order. tests/test_header.py
# parses include/hsipc.h and compares every HSIPC_API declaration with this.
PROTOTYPES: Dict[str, Tuple[object, List[object]]] = {
    "hsipc_strerror": (c_char_p, [c_int]),
    "hsipc_version": (c_uint32, []),
    "hsipc_config_init": (None, [POINTER(hsipc_config)]),
    "hsipc_config_load": (c_int, [POINTER(hsipc_config), c_char_p]),
    "hsipc_attach": (c_int, [c_char_p, POINTER(hsipc_config), POINTER(hsipc_region_p)]),
    "hsipc_attach_existing": (c_int, [c_char_p, POINTER(hsipc_region_p)]),
    "hsipc_detach": (c_int, [hsipc_region_p]),
    "hsipc_unlink": (c_int, [c_char_p]),
    "hsipc_region_config": (c_int, [hsipc_region_p, POINTER(hsipc_config)]),
    "hsipc_region_pool_stats": (c_int, [hsipc_region_p, c_uint32, POINTER(hsipc_pool_stats)]),
    "hsipc_region_endpoint_info": (c_int, [hsipc_region_p, c_uint32, POINTER(hsipc_endpoint_info)]),
    "hsipc_region_topic_info": (c_int, [hsipc_region_p, c_uint32, POINTER(hsipc_topic_info)]),
    "hsipc_endpoint_open": (c_int, [hsipc_region_p, c_char_p, POINTER(hsipc_endpoint_p)]),
    "hsipc_endpoint_close": (c_int, [hsipc_endpoint_p]),
    "hsipc_endpoint_id": (hsipc_id, [hsipc_endpoint_p]),
    "hsipc_lookup": (c_int, [hsipc_region_p, c_char_p, POINTER(hsipc_id)]),
    "hsipc_lookup_wait": (c_int, [hsipc_region_p, c_char_p, c_int64, POINTER(hsipc_id)]),
    "hsipc_endpoint_set_spin": (c_int, [hsipc_endpoint_p, c_int64]),
    "hsipc_endpoint_fd": (c_int, [hsipc_endpoint_p, POINTER(c_int)]),
    "hsipc_endpoint_arm": (c_int, [hsipc_endpoint_p]),
    "hsipc_alloc": (c_int, [hsipc_region_p, c_size_t, POINTER(hsipc_off)]),
    "hsipc_ptr": (c_void_p, [hsipc_region_p, hsipc_off]),
    "hsipc_capacity": (c_size_t, [hsipc_region_p, hsipc_off]),
    "hsipc_send_offset": (c_int, [hsipc_endpoint_p, hsipc_id, hsipc_off, c_size_t]),
    "hsipc_poll": (c_int, [hsipc_endpoint_p, POINTER(hsipc_msg), c_int64]),
    "hsipc_poll_many": (c_int, [hsipc_endpoint_p, POINTER(hsipc_msg), c_size_t, c_int64, POINTER(c_size_t)]),
    "hsipc_poll_batch": (c_int, [hsipc_endpoint_p, POINTER(hsipc_msg), c_size_t, c_int64, c_int64,
                                 POINTER(c_size_t)]),
    "hsipc_release": (c_int, [hsipc_region_p, hsipc_off]),
    "hsipc_topic_open": (c_int, [hsipc_region_p, c_char_p, POINTER(hsipc_id)]),
    "hsipc_subscribe": (c_int, [hsipc_endpoint_p, c_char_p]),
    "hsipc_unsubscribe": (c_int, [hsipc_endpoint_p, c_char_p]),
    "hsipc_publish": (c_int, [hsipc_endpoint_p, hsipc_id, hsipc_off, c_size_t, POINTER(c_uint32),
                              POINTER(c_uint32)]),
    "hsipc_reap": (c_int, [hsipc_region_p]),
}


# ---- Finding the library ----------------------------------------------------


def _build_tree_candidates(start: str) -> List[str]:
    """``build*/libhsipc.so.0`` in the nearest directory above `start` that has any."""
    here = os.path.abspath(start)
    while True:
        found = []
        try:
            entries = os.listdir(here)
        except OSError:
            entries = []
        for entry in entries:
            path = os.path.join(here, entry, SONAME)
            if entry.startswith("build") and os.path.isfile(path):
                found.append(path)
        if found:
            def rank(path: str) -> Tuple[int, float]:
                preferred = os.path.basename(os.path.dirname(path)) == "build-release"
                return (0 if preferred else 1, -os.path.getmtime(path))
            return sorted(found, key=rank)
        parent = os.path.dirname(here)
        if parent == here:
            return []
        here = parent


def _resolve(lib: ctypes.CDLL, fallback: str) -> str:
    """The file the loader chose for `lib` (dladdr), or `fallback`."""

    class Dl_info(Structure):
        _fields_ = [("dli_fname", c_char_p), ("dli_fbase", c_void_p),
                    ("dli_sname", c_char_p), ("dli_saddr", c_void_p)]

    try:
        dladdr = ctypes.CDLL(None).dladdr
        dladdr.argtypes = [c_void_p, POINTER(Dl_info)]
        dladdr.restype = c_int
        info = Dl_info()
        if dladdr(ctypes.cast(lib.hsipc_version, c_void_p), ctypes.byref(info)) and info.dli_fname:
            return os.fsdecode(info.dli_fname)
    except (AttributeError, OSError):
        pass
    return fallback


def _missing(lib: ctypes.CDLL) -> List[str]:
    """Functions of PROTOTYPES that `lib` lacks (an older build)."""
    missing = []
    for name in PROTOTYPES:
        try:
            getattr(lib, name)
        except AttributeError:
            missing.append(name)
    return missing


def _try(path: str, tried: List[str], how: str) -> Optional[ctypes.CDLL]:
    try:
        lib = ctypes.CDLL(path, use_errno=True)
    except OSError as e:
        tried.append(f"{how}: {e}")
        return None
    missing = _missing(lib)
    if missing:
        tried.append(f"{how}: too old, lacks {', '.join(missing)}")
        return None
    return lib


def load() -> Tuple[ctypes.CDLL, str]:
    """Loads libhsipc as described in the module docstring; returns it and its path."""
    tried: List[str] = []
    explicit = os.environ.get("HSIPC_LIBRARY")
    if explicit:
        lib = _try(explicit, tried, f"HSIPC_LIBRARY={explicit!r}")
        if lib is None:
            raise ImportError(f"hsipc: cannot use {tried[0]}")
        # Absolute, so that library_path() still names it after a chdir and
        # in a child started elsewhere.
        return lib, os.path.abspath(explicit) if os.sep in explicit else explicit
    lib = _try(SONAME, tried, f"{SONAME} through the dynamic loader")
    if lib is not None:
        return lib, _resolve(lib, SONAME)
    candidates = _build_tree_candidates(os.path.dirname(__file__))
    for path in candidates:
        lib = _try(path, tried, path)
        if lib is not None:
            return lib, path
    if not candidates:
        tried.append(f"no build*/{SONAME} above {os.path.dirname(os.path.abspath(__file__))}")
    raise ImportError("hsipc: cannot find a usable libhsipc; set HSIPC_LIBRARY to its path. Tried:\n  "
                      + "\n  ".join(tried))


def declare(lib: ctypes.CDLL) -> None:
    """Sets argtypes and restype of every function of the header on `lib`."""
    for name, (restype, argtypes) in PROTOTYPES.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


lib, path = load()
# The same loaded object, called without releasing the GIL (see the module
# docstring). dlopen is not repeated: the handle is shared. No use_errno:
# it costs 20 ns a call, and what is called through `fast` never returns
# HSIPC_ESYS (tests/test_header.py checks the header's "Errors:" lists).
fast = ctypes.PyDLL(path, handle=lib._handle)
FAST_FUNCTIONS = ("hsipc_alloc", "hsipc_send_offset", "hsipc_poll", "hsipc_poll_many", "hsipc_release",
                  "hsipc_ptr", "hsipc_capacity", "hsipc_publish")
# Also without releasing the GIL, but capturing errno: the calls that must
# not run beside a poll of the same endpoint in another thread yet may fail
# with HSIPC_ESYS. Holding the GIL is what keeps that poll out (as for
# poll(timeout=0)); these calls make a few non-blocking system calls at most.
# hsipc_subscribe and hsipc_unsubscribe are here for the other half of that:
# holding the GIL from reading the endpoint's handle to the call's return is
# what keeps Endpoint.close() from freeing the handle under them, without
# taking the endpoint's lock, which a poll in another thread holds. They take
# the region's lock, which others hold for microseconds and never while they
# need the GIL.
fast_errno = ctypes.PyDLL(path, handle=lib._handle, use_errno=True)
FAST_ERRNO_FUNCTIONS = ("hsipc_endpoint_fd", "hsipc_endpoint_arm", "hsipc_subscribe", "hsipc_unsubscribe")
declare(lib)
declare(fast)
declare(fast_errno)

_loaded_major = lib.hsipc_version() >> 16
if _loaded_major != HEADER_VERSION[0]:
    raise ImportError(
        f"hsipc: {path} is version {_loaded_major}.x; this binding needs {HEADER_VERSION[0]}.x")


def strerror(status: int) -> str:
    """hsipc_strerror: the library's sentence for any status value."""
    text: Optional[bytes] = lib.hsipc_strerror(status)
    return text.decode("utf-8", "replace") if text else "unknown hsipc status code"
