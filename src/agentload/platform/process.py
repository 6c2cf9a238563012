"""Start and drive a reference platform in a subprocess (for tests, benchmarks and demos).

Tests across the project need a real platform on a free port, started fast and stopped cleanly, with
no fixed sleeps and no fixed ports. ``start_platform`` runs ``python -m agentload.platform --host
127.0.0.1 --port 0 ...``, waits (with a deadline) for the "listening on" line and returns a
``PlatformProcess`` that knows its URL and offers small stdlib-only helpers: ``request``, ``stats``,
``reset_stats``, ``faults``, ``set_faults`` and ``stop``. It is also a context manager::

    with start_platform("--fixed-latency-ms", "0") as platform:
        reply = platform.request("GET", "/api/health")
        assert reply.status == 200
        platform.set_faults(error_rate={"intent": 1.0})
        assert platform.stats()["requests"]["health"]["200"] == 1

Environment variables starting with ``PLATFORM_`` are not inherited (so a developer's shell cannot
inject faults into tests); pass ``env=`` to set some. The system key goes through the environment,
never the command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

READY_PREFIX = "agentload platform listening on "
DEFAULT_KEY = "test-key"
USER_HEADERS = {"X-Test-User-Id": "user-1", "X-Clerk-Id": "clerk-1"}


class PlatformStartError(RuntimeError):
    """The platform process exited or stayed silent before announcing its address."""


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, headers (case-insensitive lookups via ``header``) and raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """Body decoded as JSON."""
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        """Header value by case-insensitive name."""
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), default)


def _encode_body(body: Any) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def http_request(
    url: str,
    method: str = "GET",
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """One HTTP request with urllib; ``body``: bytes, str or a JSON-able object. 4xx/5xx do not raise."""
    data = _encode_body(body)
    all_headers = {"Content-Type": "application/json"} if data is not None else {}
    all_headers.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Reply(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return Reply(err.code, dict(err.headers.items()), err.read())


@dataclass
class PlatformProcess:
    """A running platform subprocess and its base URL (``http://127.0.0.1:PORT``)."""

    process: subprocess.Popen[bytes]
    url: str
    system_key: str = field(default=DEFAULT_KEY, repr=False)
    _stderr: IO[bytes] | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        """Bound TCP port."""
        return int(self.url.rsplit(":", 1)[1])

    @property
    def host(self) -> str:
        """Bound host as announced."""
        return self.url.split("//", 1)[1].rsplit(":", 1)[0]

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Reply:
        """HTTP request to ``path`` on this platform (see ``http_request``)."""
        return http_request(self.url + path, method, body, headers, timeout)

    def admin_headers(self) -> dict[str, str]:
        """Headers carrying the system key (admin endpoints, execute-step)."""
        return {"X-Internal-System-Key": self.system_key}

    def _admin(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        reply = self.request(method, path, body, self.admin_headers())
        if reply.status != 200:
            raise RuntimeError(f"{method} {path} -> {reply.status}: {reply.body[:200]!r}")
        return reply.json()

    def stats(self) -> dict[str, Any]:
        """``GET /_admin/stats``: counts per endpoint and status since start (or last reset)."""
        return self._admin("GET", "/_admin/stats")

    def reset_stats(self) -> dict[str, Any]:
        """``POST /_admin/stats/reset``."""
        return self._admin("POST", "/_admin/stats/reset", {})

    def faults(self) -> dict[str, Any]:
        """``GET /_admin/faults``: current fault settings."""
        return self._admin("GET", "/_admin/faults")

    def set_faults(self, **settings: Any) -> dict[str, Any]:
        """``POST /_admin/faults``, e.g. ``set_faults(error_rate={"intent": 1.0}, latency_scale=3)``."""
        return self._admin("POST", "/_admin/faults", settings)

    def stderr_text(self) -> str:
        """Everything the process wrote to stderr so far."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM, wait up to ``timeout`` s (then SIGKILL); returns the exit status."""
        return stop_process(self.process, timeout)

    def __enter__(self) -> PlatformProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self._stderr is not None:
            self._stderr.close()


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM, wait up to ``timeout`` s (then SIGKILL), close its stdout; returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
    return process.returncode


def _child_env(system_key: str, env: Mapping[str, str] | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("PLATFORM_")}
    base["INTERNAL_SYSTEM_KEY"] = system_key
    base.update(env or {})
    return base


def read_ready_line(
    proc: subprocess.Popen[bytes], deadline: float, prefix: str = READY_PREFIX, name: str = "platform"
) -> str:
    """What follows ``prefix`` on the first stdout line of process ``name``, read against ``deadline``."""
    assert proc.stdout is not None
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PlatformStartError(f"{name} did not announce its address in time")
            if selector.select(remaining):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    raise PlatformStartError(f"{name} exited with status {proc.wait()} before listening")
                buffer += chunk
    line = buffer.split(b"\n", 1)[0].decode()
    if not line.startswith(prefix):
        raise PlatformStartError(f"unexpected first line from {name}: {line!r}")
    return line[len(prefix) :].strip()


def start_platform(
    *args: str,
    system_key: str = DEFAULT_KEY,
    timeout: float = 20.0,
    env: Mapping[str, str] | None = None,
    cpus: Iterable[int] | None = None,
) -> PlatformProcess:
    """Start ``python -m agentload.platform --host 127.0.0.1 --port 0 *args`` and wait until it listens.

    ``cpus`` pins the process to those CPU numbers (Linux). Raises ``PlatformStartError`` with the
    process's stderr if it exits or stays silent for ``timeout`` seconds.
    """
    command = [sys.executable, "-m", "agentload.platform", "--host", "127.0.0.1", "--port", "0", *args]
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the process; closed in __exit__
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=_child_env(system_key, env))
    if cpus is not None and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(proc.pid, set(cpus))
    platform = PlatformProcess(proc, "", system_key, stderr)
    try:
        platform.url = read_ready_line(proc, time.monotonic() + timeout)
    except PlatformStartError as exc:
        platform.stop()
        raise PlatformStartError(f"{exc}; command {command}; stderr:\n{platform.stderr_text()}") from None
    return platform
