# SPDX-License-Identifier: MIT
"""Status codes and the exceptions they become.

STATUS_TABLE mirrors HSIPC_STATUS_MAP of include/hsipc.h line for line;
tests/test_header.py parses the header and fails when the two differ, so a
code added there without a class here is caught.
"""

from __future__ import annotations

import enum
import errno as _errno
import os
from typing import Dict, Optional, Tuple, Type

from . import _lib

# X(name, value, sentence) of HSIPC_STATUS_MAP, in its order.
STATUS_TABLE: Tuple[Tuple[str, int, str], ...] = (
    ("HSIPC_OK", 0, "success"),
    ("HSIPC_EINVAL", -1, "invalid argument"),
    ("HSIPC_ENOENT", -2, "no region, endpoint or file of that name"),
    ("HSIPC_EEXIST", -3, "a live endpoint already has that name"),
    ("HSIPC_ENOMEM", -4, "no free buffer large enough, or no free endpoint or process slot"),
    ("HSIPC_EFULL", -5, "destination inbox is full; the sender still owns the buffer"),
    ("HSIPC_EAGAIN", -6, "nothing arrived within the timeout"),
    ("HSIPC_EBADOFF", -7, "the offset is not a live buffer owned by the caller"),
    ("HSIPC_EPEER", -8, "destination endpoint is closed, stale or its process died"),
    ("HSIPC_EVERSION", -9, "region was made by an incompatible layout version"),
    ("HSIPC_ECORRUPT", -10, "region failed validation"),
    ("HSIPC_EPERM", -11, "access refused"),
    ("HSIPC_ETOOBIG", -12, "size exceeds the largest pool's buffer size"),
    ("HSIPC_ESYS", -13, "operating-system error; errno holds it"),
    ("HSIPC_EINTR", -14, "a signal handler ran while waiting"),
)

Status = enum.IntEnum(  # type: ignore[misc]
    "Status", [(name[len("HSIPC_"):], value) for name, value, _ in STATUS_TABLE], module=__name__)
Status.__doc__ = """The C status codes: ``Status.EINVAL == -1`` is HSIPC_EINVAL, and so on."""


def status_name(code: int) -> str:
    """``"HSIPC_EINVAL"`` for -1; ``"status 42"`` for a value the table lacks."""
    try:
        return "HSIPC_" + Status(code).name
    except ValueError:
        return f"status {code}"


class Error(Exception):
    """Base class of every hsipc error.

    Attributes:
        code: the C status (a :class:`Status` member when known).
        message: ``hsipc_strerror(code)``, the library's sentence.
        context: what failed, e.g. ``"hsipc_attach('demo')"``, or None.

    Where the standard library has an exception for the same condition, the
    class derives from it too, so ``except FileNotFoundError`` (NotFound),
    ``FileExistsError`` (Exists), ``PermissionError`` (PermissionDenied),
    ``TimeoutError`` (Again) and ``OSError`` (SysError) catch hsipc's errors;
    those carry ``errno`` and ``strerror`` as any OSError does.
    """

    #: The status this class stands for (the base class: none in particular).
    status: Optional[int] = None
    #: The errno an OSError subclass carries.
    _oserrno: int = 0

    def __init__(self, code: int, message: Optional[str] = None, context: Optional[str] = None) -> None:
        try:
            code = Status(code)
        except ValueError:
            pass
        self.code: int = code
        self.message: str = message if message is not None else _lib.strerror(code)
        self.context: Optional[str] = context
        super().__init__(self._text())
        if self._oserrno and isinstance(self, OSError):
            self.errno = self._oserrno
            self.strerror = os.strerror(self._oserrno)

    def _text(self) -> str:
        where = f"{self.context}: " if self.context else ""
        return f"{where}{self.message} [{status_name(self.code)}]"

    def __str__(self) -> str:
        return self._text()

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Picklable across processes (multiprocessing), whatever the subclass.
        return (_rebuild, (type(self), self.code, self.message, self.context, getattr(self, "errno", None)))


def _rebuild(cls: Type[Error], code: int, message: str, context: Optional[str], errno: Optional[int]) -> Error:
    if issubclass(cls, SysError):
        return cls(code, message, context, errno=errno or 0)
    return cls(code, message, context)


class InvalidArgument(Error, ValueError):
    """HSIPC_EINVAL: a bad name, size, timeout, configuration or length.

    Also raised by the binding itself for values C cannot represent
    (a name with a NUL byte, a negative size, more than HSIPC_MAX_POOLS pools).
    """
    status = Status.EINVAL


class NotFound(Error, FileNotFoundError):
    """HSIPC_ENOENT: no region, endpoint or file of that name, or no such file."""
    status = Status.ENOENT
    _oserrno = _errno.ENOENT


class Exists(Error, FileExistsError):
    """HSIPC_EEXIST: a live endpoint already has that name."""
    status = Status.EEXIST
    _oserrno = _errno.EEXIST


class NoMemory(Error):
    """HSIPC_ENOMEM: no free buffer large enough, or no free endpoint or process slot."""
    status = Status.ENOMEM


class Full(Error):
    """HSIPC_EFULL: the destination inbox is full; the sender still owns the buffer."""
    status = Status.EFULL


class Again(Error, TimeoutError):
    """HSIPC_EAGAIN: nothing arrived in time (:meth:`Endpoint.recv`); a TimeoutError.
    :meth:`Endpoint.poll` returns None instead."""
    status = Status.EAGAIN
    _oserrno = _errno.ETIMEDOUT


class BadOffset(Error):
    """HSIPC_EBADOFF: the buffer is not one this process holds."""
    status = Status.EBADOFF


class PeerGone(Error):
    """HSIPC_EPEER: the destination endpoint is closed, stale, dead or made up."""
    status = Status.EPEER


class VersionMismatch(Error):
    """HSIPC_EVERSION: the region was made by an incompatible layout version."""
    status = Status.EVERSION


class Corrupt(Error):
    """HSIPC_ECORRUPT: the region (or an inbox) failed validation."""
    status = Status.ECORRUPT


class PermissionDenied(Error, PermissionError):
    """HSIPC_EPERM: access refused by the OS or by hsipc's ownership check."""
    status = Status.EPERM
    _oserrno = _errno.EPERM


class TooBig(Error):
    """HSIPC_ETOOBIG: the size exceeds the largest pool's buffer size."""
    status = Status.ETOOBIG


class Interrupted(Error, InterruptedError):
    """HSIPC_EINTR: a signal handler ran while the call waited. The binding's
    own waits never raise it: as PEP 475 asks, they let the handler run (its
    exception propagates) and otherwise go on waiting."""
    status = Status.EINTR
    _oserrno = _errno.EINTR


class SysError(Error, OSError):
    """HSIPC_ESYS: an operating-system error; ``errno`` and ``strerror`` say which."""
    status = Status.ESYS

    def __init__(self, code: int = Status.ESYS, message: Optional[str] = None,
                 context: Optional[str] = None, errno: int = 0) -> None:
        super().__init__(code, message, context)
        self.errno = errno
        self.strerror = os.strerror(errno) if errno else None
        self.args = (self._text(),)

    def _text(self) -> str:
        errno = getattr(self, "errno", None)
        if not errno:
            return super()._text()
        # The library's sentence ("errno holds it") says nothing errno does not.
        where = f"{self.context}: " if self.context else ""
        name = _errno.errorcode.get(errno, str(errno))
        return f"{where}[Errno {errno}] {os.strerror(errno)} [{status_name(self.code)}, {name}]"


class Closed(InvalidArgument):
    """Raised by the binding (no C call is made) when a Region was detached or
    an Endpoint closed, also when either was inherited across fork(): the C
    library forbids using a handle in a forked child. ``code`` is HSIPC_EINVAL,
    what C returns for a NULL handle."""


class SpentBuffer(BadOffset):
    """Raised by the binding (no C call is made) for a Buffer or Message that
    was already released, sent, or whose region was detached: its offset may
    by now be someone else's buffer, so the binding never passes it on.
    ``code`` is HSIPC_EBADOFF, what C returns for a double release."""


# code -> class, for every code but HSIPC_OK.
CLASSES: Dict[int, Type[Error]] = {
    cls.status: cls  # type: ignore[misc]
    for cls in (InvalidArgument, NotFound, Exists, NoMemory, Full, Again, BadOffset, PeerGone,
                VersionMismatch, Corrupt, PermissionDenied, TooBig, SysError, Interrupted)
}


def error(code: int, context: Optional[str] = None) -> Error:
    """The exception for a C status: its class, message and, for HSIPC_ESYS, errno.

    Call right after the failing call: errno is read from ctypes' copy.
    """
    cls = CLASSES.get(code, Error)
    if cls is SysError:
        import ctypes
        return SysError(code, None, context, errno=ctypes.get_errno())
    return cls(code, None, context)


def check(code: int, context: Optional[str] = None) -> int:
    """Returns non-negative `code`; raises :func:`error` for a negative one."""
    if code < 0:
        raise error(code, context)
    return code
