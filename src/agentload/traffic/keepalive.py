"""Keep-alive past 1,024 open sockets: geventhttpclient's check of a pooled connection, made exact.

Before it reuses a pooled connection, geventhttpclient (2.6) asks `select.select([sock], [], [], 0)`
whether the idle socket is readable (a FIN or stray bytes). `select()` cannot take a descriptor of
1,024 or more (FD_SETSIZE): it raises ValueError, which the check reads as a dead connection. So in
a process with more than about a thousand sockets, every request on a high descriptor closes its
connection and opens a new one. Measured at 2,000 concurrent chat streams from one process: 2,949
of 5,216 reuses (57%) reconnected, each adding a TCP handshake (and a name lookup on gevent's thread
pool) to the stream's time to first token and to the generator's CPU.

`install()` replaces the check with one that asks the kernel without `select()` and without
waiting: a one-byte `MSG_PEEK | MSG_DONTWAIT` read that would block means idle and alive; b""
means the peer closed; any byte means the connection is not clean. The same answers as before, for
any descriptor. It applies to every `FastHttpUser` in the process (the suite's and the user's own).

It also yields to the event loop once, as the library's check does inside gevent's `select()`.
That yield, just before the send, lets every user ready in this loop cycle send its request
together, so a target on the same machine wakes once for several. Without it, 32 back-to-back users
against nginx on the other core woke nginx once per request (6,900 wake-ups a second against
2,200) and sent 6,900 req/s, against 8,600 with it (`make bench` item 1; bare Locust 9,700).
The wait for the loop is the generator's, not the target's: the suite's requests start their clock
after it (`ready_at`), as k6 starts `http_req_duration` when sending begins. Left in, it added
1.1 ms to the closed loop's P95 at 1,000/s (item 2).
"""

from __future__ import annotations

import contextvars
import socket
import time
from typing import Any

import gevent
from geventhttpclient.connectionpool import ConnectionPool

_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT
LIBRARY_CHECK = ConnectionPool.__dict__["_is_socket_alive"]
"""geventhttpclient's own check, as imported (its tests show the bug this module fixes)."""
_READY_AT: contextvars.ContextVar[float] = contextvars.ContextVar("ready_to_send_at", default=0.0)
_perf_counter = time.perf_counter


def is_socket_alive(pool: ConnectionPool, sock: Any) -> bool:
    """True when the idle pooled `sock` is open with nothing to read (any descriptor number)."""
    if sock is None or sock.fileno() < 0:
        return False
    gevent.sleep(0)  # as gevent's select() in the library's check: this cycle's sends go out together
    _READY_AT.set(_perf_counter())
    raw = getattr(sock, "_sock", sock)  # gevent's socket would wait on EAGAIN; its OS socket does not
    try:
        raw.recv(1, _PEEK)  # returns at once: b"" when the peer closed, else stray bytes
    except BlockingIOError:
        return True  # nothing to read: idle and open
    except OSError:
        pass
    return False


def ready_at(started: float) -> float:
    """When this greenlet's request, started at `started` (`perf_counter` clock), could be sent: the
    end of its yield in the pooled connection's check, or `started` (a new connection: no check)."""
    return max(started, _READY_AT.get())


def install() -> None:
    """Use `is_socket_alive` in every geventhttpclient connection pool of this process."""
    ConnectionPool._is_socket_alive = is_socket_alive  # type: ignore[method-assign]
