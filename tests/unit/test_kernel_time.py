"""Stream reads keep the kernel's arrival time of their bytes, however late the loop reads them."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import gevent.socket
import pytest

from agentload.traffic import kernel_time
from agentload.traffic.kernel_time import last_arrival, open_stamped_socket, receive, stamped_reads

pytestmark = pytest.mark.skipif(kernel_time.SO_TIMESTAMPNS is None, reason="no SO_TIMESTAMPNS here")
LATE_S = 0.2


def connected_pair() -> tuple[socket.socket, kernel_time.StampedSocket]:
    listener = socket.create_server(("127.0.0.1", 0))
    client = open_stamped_socket()
    client.connect(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    return server, client


@pytest.fixture(scope="module", autouse=True)
def stamping_on() -> Iterator[None]:
    """Linux turns stamping on for the whole system a moment after the first socket asks (a
    deferred static key), and off when the last one closes: segments that arrive in between have
    no stamp. One stamped socket held open, with a stamp seen, keeps every test past that moment."""
    server, client = connected_pair()
    with server, client:
        deadline = time.monotonic() + 5
        while True:
            with stamped_reads():
                server.sendall(b"x")
                receive(client, 1)
                if kernel_time._CLOCK.get().arrived_at is not None or time.monotonic() > deadline:
                    break
            time.sleep(0.01)
        yield


@pytest.mark.parametrize("read", [lambda sock: sock.recv(100), lambda sock: receive(sock, 100)])
def test_a_stamped_read_gives_the_arrival_not_the_read(read) -> None:
    """Bytes that waited 0.2 s in the socket (a loop busy elsewhere) keep the time they arrived."""
    server, client = connected_pair()
    with server, client, stamped_reads():
        sent = time.perf_counter()
        server.sendall(b"data: first token\n\n")
        time.sleep(LATE_S)  # blocks the whole process, as a busy loop would
        assert read(client) == b"data: first token\n\n"
        read_at = time.perf_counter()
        arrived = last_arrival()
    assert sent <= arrived + 0.001  # the two clocks agree to well under a millisecond
    assert arrived - sent < 0.05 and read_at - arrived >= LATE_S - 0.01


def test_reads_outside_a_stream_are_plain_and_give_the_time_of_the_read() -> None:
    server, client = connected_pair()
    with server, client:
        server.sendall(b"ok")
        time.sleep(LATE_S)
        assert client.recv(100) == b"ok"
        assert abs(last_arrival() - time.perf_counter()) < 0.01  # no stamp: now


def test_a_socket_without_stamps_gives_the_time_of_the_read() -> None:
    """A plain gevent socket (as under TLS, where bytes wait in the TLS layer) has no stamp."""
    a, b = socket.socketpair()
    plain = gevent.socket.socket(fileno=b.detach())
    with a, plain, stamped_reads():
        a.sendall(b"x")
        time.sleep(LATE_S)
        assert receive(plain, 10) == b"x"
        assert abs(last_arrival() - time.perf_counter()) < 0.01


def test_the_end_of_the_body_has_no_stamp() -> None:
    server, client = connected_pair()
    with client, stamped_reads():
        server.sendall(b"last")
        server.close()
        time.sleep(LATE_S)
        assert receive(client, 100) == b"last"
        assert receive(client, 100) == b""
        assert abs(last_arrival() - time.perf_counter()) < 0.01
