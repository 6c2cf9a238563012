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
"""

from __future__ import annotations

import socket
from typing import Any

from geventhttpclient.connectionpool import ConnectionPool

_PEEK = socket.MSG_PEEK | socket.MSG_DONTWAIT
LIBRARY_CHECK = ConnectionPool.__dict__["_is_socket_alive"]
"""geventhttpclient's own check, as imported (its tests show the bug this module fixes)."""


def is_socket_alive(pool: ConnectionPool, sock: Any) -> bool:
    """True when the idle pooled `sock` is open with nothing to read (any descriptor number)."""
    if sock is None or sock.fileno() < 0:
        return False
    raw = getattr(sock, "_sock", sock)  # gevent's socket would wait on EAGAIN; its OS socket does not
    try:
        raw.recv(1, _PEEK)  # returns at once: b"" when the peer closed, else stray bytes
    except BlockingIOError:
        return True  # nothing to read: idle and open
    except OSError:
        pass
    return False


def install() -> None:
    """Use `is_socket_alive` in every geventhttpclient connection pool of this process."""
    ConnectionPool._is_socket_alive = is_socket_alive  # type: ignore[method-assign]
