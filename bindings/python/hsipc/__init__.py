# SPDX-License-Identifier: MIT
"""hsipc: shared-memory IPC between processes on one Linux machine, for Python.

A pure-Python binding over ctypes to libhsipc (include/hsipc.h); nothing to
compile. A sender allocates a buffer in a named shared region, writes into it
in place, and sends it to an endpoint; the receiver reads it where it lies::

    import hsipc
    cfg = hsipc.Config(pools=[(256, 64)], inbox_capacity=64)
    with hsipc.attach("demo", cfg) as region:
        with region.open("py") as ep:
            buf = region.alloc(100)
            buf.data[:5] = b"hello"
            ep.send(region.lookup("py"), buf, 5)   # buf is spent now
            with ep.recv(timeout=1.0) as msg:      # TimeoutError if nothing came in time
                assert bytes(msg.data) == b"hello"
    hsipc.unlink("demo")

Errors are exceptions: :class:`Error` with ``.code`` (the C status) and one
subclass per status. See docs/python.md for the tutorial.

The library is found through ``HSIPC_LIBRARY`` (a path), else
``libhsipc.so.0`` through the dynamic loader, else the nearest
``build*/libhsipc.so.0`` above this package (``build-release`` first).
"""

from ._core import (
    POLL_SLICE,
    Buffer,
    Config,
    Endpoint,
    EndpointInfo,
    Message,
    PoolStats,
    PublishResult,
    Region,
    Topic,
    TopicInfo,
    attach,
    library_path,
    unlink,
    version,
)
from ._errors import (
    STATUS_TABLE,
    Again,
    BadOffset,
    Closed,
    Corrupt,
    Error,
    Exists,
    Full,
    Interrupted,
    InvalidArgument,
    NoMemory,
    NotFound,
    PeerGone,
    PermissionDenied,
    SpentBuffer,
    Status,
    SysError,
    TooBig,
    VersionMismatch,
)
from ._lib import (HEADER_VERSION, HSIPC_FOREVER, HSIPC_MAX_POOLS, HSIPC_MAX_SUBSCRIBERS, HSIPC_MSG_SHARED,
                   HSIPC_NAME_MAX, strerror)

#: The most pools a region has (HSIPC_MAX_POOLS).
MAX_POOLS: int = HSIPC_MAX_POOLS
#: The longest region or endpoint name, in bytes (HSIPC_NAME_MAX).
NAME_MAX: int = HSIPC_NAME_MAX
#: The largest ``max_subscribers`` (HSIPC_MAX_SUBSCRIBERS).
MAX_SUBSCRIBERS: int = HSIPC_MAX_SUBSCRIBERS
#: The bit of :attr:`Message.flags` that :attr:`Message.shared` reads (HSIPC_MSG_SHARED).
MSG_SHARED: int = HSIPC_MSG_SHARED

# A literal, for pyproject.toml to read without importing; equal to
# HEADER_VERSION (tests/test_install.py).
__version__ = "0.1.0"

__all__ = [
    "attach", "unlink", "version", "library_path", "strerror",
    "Config", "Region", "Endpoint", "Buffer", "Message", "PoolStats", "EndpointInfo", "Topic", "TopicInfo",
    "PublishResult",
    "Error", "InvalidArgument", "NotFound", "Exists", "NoMemory", "Full", "Again", "BadOffset",
    "PeerGone", "VersionMismatch", "Corrupt", "PermissionDenied", "TooBig", "SysError", "Interrupted",
    "Closed", "SpentBuffer", "Status", "STATUS_TABLE",
    "MAX_POOLS", "NAME_MAX", "MAX_SUBSCRIBERS", "MSG_SHARED", "POLL_SLICE", "HSIPC_FOREVER", "HEADER_VERSION",
]
