"""When a stream's bytes reached this machine, as the kernel stamped them, not when the loop read them.

A busy generator reads each token late: the greenlet waiting for it runs only when the event loop
gets to it, so a time taken after the read adds the loop's lag to the time to first token and to
the gaps. At 4,000 streams on one core that lag was tens of milliseconds at P95, in bursts. Linux
stamps every segment as it arrives (`SO_TIMESTAMPNS`) and `recvmsg` hands back the stamp of the
bytes it returns, so a stream's arrival times are right however late the loop reads them.

`install()` makes geventhttpclient's connection pools open `StampedSocket`s with stamping on. A
stream read runs inside `stamped_reads()`; there every read of such a socket (the response's
headers too, which often bring the first token with them) keeps its stamp, and `last_arrival()`
gives it on the `time.perf_counter()` clock. Outside it they read as before (no other request
pays for stamps), and a read with no stamp (TLS, a system without `SO_TIMESTAMPNS`) gives the time
of the read.

One stamp covers one read: when the loop is so late that two tokens wait in the socket, both
get the later one's time, as both get the read's time without stamps.

Linux turns stamping on for the system a moment after the first socket asks (a deferred static
key), so the very first segments of a run can come unstamped: they get the read's time.
"""

from __future__ import annotations

import contextlib
import contextvars
import platform
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gevent.socket
from geventhttpclient.connectionpool import ConnectionPool

SO_TIMESTAMPNS: int | None = getattr(socket, "SO_TIMESTAMPNS", None)
if SO_TIMESTAMPNS is None and sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64"):
    SO_TIMESTAMPNS = 35  # Python's socket module does not name it; asm-generic/socket.h does
_TIMESPEC = struct.Struct("@qq")
"""`struct timespec` on 64-bit Linux: seconds and nanoseconds."""
_unpack_timespec = _TIMESPEC.unpack_from
_perf_counter, _wall_clock = time.perf_counter, time.time
_ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size) if SO_TIMESTAMPNS else 0


@dataclass(slots=True)
class ReadClock:
    """The arrival (`perf_counter` clock) of the bytes of the last stamped read in a block."""

    arrived_at: float | None = None


_CLOCK: contextvars.ContextVar[ReadClock | None] = contextvars.ContextVar("read_clock", default=None)


class StampedSocket(gevent.socket.socket):
    """A gevent socket whose reads inside `stamped_reads()` keep the kernel's arrival time."""

    __slots__ = ()

    def recv(self, *args: Any) -> bytes:
        clock = _CLOCK.get()
        if clock is None or not _ANCILLARY_SIZE:  # not in a stream, or no stamps on this system
            return super().recv(*args)
        data, ancillary, _, _ = self.recvmsg(args[0], _ANCILLARY_SIZE, *args[1:])
        clock.arrived_at = _arrival(ancillary)
        return data


@contextlib.contextmanager
def stamped_reads() -> Iterator[None]:
    """Reads of stamped sockets in this greenlet keep their arrival time until the block ends."""
    token = _CLOCK.set(ReadClock())
    try:
        yield
    finally:
        _CLOCK.reset(token)


def last_arrival() -> float:
    """When the bytes of this block's last read arrived (`perf_counter` clock): their kernel stamp,
    or now when the read had none (TLS, no `SO_TIMESTAMPNS`, the end of the body)."""
    clock = _CLOCK.get()
    stamp = None if clock is None else clock.arrived_at
    return time.perf_counter() if stamp is None else stamp


def receive(sock: Any, size: int) -> bytes:
    """One read of a stream's socket, waiting for it to be readable first, with no timer.

    gevent's `recv` tries the socket first (one failing system call and an exception per token, as
    tokens arrive hundreds of milliseconds apart) and then waits under a timer of the socket's
    timeout, started and cancelled once per token. A stream already runs under its own
    whole-request deadline, so this waits on the socket's read watcher alone, then reads (stamped
    on a `StampedSocket`). A TLS socket keeps gevent's `recv`: its bytes can wait in the TLS layer
    with nothing on the descriptor.
    """
    kind = type(sock)
    if kind is not StampedSocket and kind is not gevent.socket.socket:
        return sock.recv(size)
    clock = _CLOCK.get() if kind is StampedSocket and _ANCILLARY_SIZE else None
    while True:
        gevent.socket.wait(sock._read_event, None, None, sock.hub)
        try:
            if clock is None:
                return sock._sock.recv(size)
            data, ancillary, _, _ = sock._sock.recvmsg(size, _ANCILLARY_SIZE)
        except BlockingIOError:  # woken with nothing to read: wait again
            continue
        clock.arrived_at = _arrival(ancillary)
        return data


def _arrival(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The kernel's receive stamp in `recvmsg`'s ancillary data, moved to the `perf_counter` clock.
    Stamping is the only ancillary data these sockets ask for, so it is the first item or none."""
    if not ancillary:
        return None
    level, kind, data = ancillary[0]
    if kind != SO_TIMESTAMPNS or level != socket.SOL_SOCKET or len(data) < _TIMESPEC.size:
        return None
    seconds, nanoseconds = _unpack_timespec(data)
    return seconds + nanoseconds * 1e-9 + (_perf_counter() - _wall_clock())


def open_stamped_socket(
    family: int = socket.AF_INET, socktype: int = socket.SOCK_STREAM, protocol: int = 0
) -> StampedSocket:
    """A new gevent socket with the kernel's receive stamps on (where the system has them)."""
    sock = StampedSocket(family, socktype, protocol)
    if SO_TIMESTAMPNS is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    return sock


def _pool_socket(pool: ConnectionPool, family: int, socktype: int, protocol: int) -> StampedSocket:
    return open_stamped_socket(family, socktype, protocol)


def install() -> None:
    """Every geventhttpclient connection pool of this process opens stamped sockets."""
    ConnectionPool._create_tcp_socket = _pool_socket  # type: ignore[method-assign]
