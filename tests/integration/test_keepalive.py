"""Pooled connections are reused at any descriptor number (`agentload.traffic.keepalive`)."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from geventhttpclient import HTTPClient
from geventhttpclient.connectionpool import ConnectionPool

from agentload.platform.process import start_platform
from agentload.traffic import keepalive

HIGH = 1100
"""Sockets opened first, so the client's own socket gets a descriptor above select()'s 1,023."""


@pytest.fixture(scope="module")
def platform() -> Iterator[Any]:
    with start_platform("--fixed-latency-ms", "intent=5,step=5,chat=5", "--fixed-ttft-ms", "5") as proc:
        yield proc


@pytest.fixture
def high_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < HIGH + 100:
        pytest.skip(f"the descriptor limit ({hard}) is too low to open {HIGH} sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, HIGH + 100), hard))
    held = [socket.socket() for _ in range(HIGH)]
    try:
        yield
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def local_ports(platform: Any, requests: int) -> set[int]:
    """The client ports of `requests` sequential keep-alive requests through one pooled client."""
    client = HTTPClient.from_url(platform.url, concurrency=1)
    ports = set()
    try:
        for _ in range(requests):
            response = client.get("/api/health")
            response.read()
            (sock,) = client._connection_pool._socket_queue.queue
            assert sock.fileno() >= 1024
            ports.add(sock.getsockname()[1])
    finally:
        client.close()
    return ports


def test_high_descriptor_connection_is_reused(platform: Any, high_descriptors: None) -> None:
    """With the suite's check, five requests on a descriptor above 1,023 share one connection."""
    keepalive.install()
    assert len(local_ports(platform, 5)) == 1


def test_library_check_reconnects_on_high_descriptors(
    platform: Any, high_descriptors: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """geventhttpclient's own select() check takes every such connection for dead (the bug fixed)."""
    monkeypatch.setattr(ConnectionPool, "_is_socket_alive", keepalive.LIBRARY_CHECK)
    assert len(local_ports(platform, 5)) == 5


def test_closed_and_dirty_connections_are_not_reused() -> None:
    """A peer that closed, or left unread bytes, makes the connection dead; an idle one is alive."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        assert keepalive.is_socket_alive(None, client)  # type: ignore[arg-type]
        peer.sendall(b"x")
        assert not keepalive.is_socket_alive(None, client)  # type: ignore[arg-type]
        client.recv(1)
        peer.close()
        assert not keepalive.is_socket_alive(None, client)  # type: ignore[arg-type]
        client.close()
        assert not keepalive.is_socket_alive(None, client)  # type: ignore[arg-type]


CHECKS = {"suite": keepalive.is_socket_alive, "library": keepalive.LIBRARY_CHECK}


@pytest.mark.parametrize("check", CHECKS.values(), ids=CHECKS.keys())
def test_the_check_yields_to_the_loop_once(check: Any) -> None:
    """Both checks let another ready greenlet run (the suite's keeps the library's scheduling)."""
    ran: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        gevent.spawn(ran.append, "other greenlet")
        assert check(None, client)
        assert ran == ["other greenlet"]
        client.close()
        peer.close()


def busy_for(seconds: float) -> None:
    """Hold the event loop (no yield) this long."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_request_is_ready_to_send_after_the_checks_yield() -> None:
    """The suite's clock of a request starts after the check's wait for the loop, never before
    the request started (a new connection has no check)."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        started = time.perf_counter()
        gevent.spawn(busy_for, 0.02)  # the loop is busy for 20 ms when the check yields
        assert keepalive.is_socket_alive(None, client)  # type: ignore[arg-type]
        assert keepalive.ready_at(started) - started >= 0.02
        later = time.perf_counter()
        assert keepalive.ready_at(later) == later
        client.close()
        peer.close()
