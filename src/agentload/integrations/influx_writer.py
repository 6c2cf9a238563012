"""One synchronous, short-timeout write of a batch of lines through influxdb-client's v2 write API.

Batching, retrying and dropping are done by our own gevent greenlet (see `influx`), so this wrapper
only sends: `write_api(write_options=SYNCHRONOUS)` posts to `/api/v2/write?org=&bucket=&precision=ms`
(InfluxDB 2.x/3.x, 1.8+ via its compatibility endpoint, VictoriaMetrics) with urllib3 retries off,
and under Locust's monkey-patching its socket I/O yields to the other greenlets. Errors come back as
`WriteFailed` with a short reason built from the exception's type and HTTP status only: an
exception's text may quote a URL or a response, and nothing here may print the token.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from typing import Any

from agentload.integrations.influx_settings import InfluxSettings
from agentload.settings import SettingsError

INSTALL_HINT = "pip install 'agentload[influx]'"


class WriteFailed(Exception):
    """A batch was not written; `retryable` says whether the same batch may succeed later."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class InfluxWriter:
    """Owns an `InfluxDBClient`; `write(lines)` returns or raises `WriteFailed`."""

    def __init__(self, settings: InfluxSettings) -> None:
        try:
            from influxdb_client import InfluxDBClient
            from influxdb_client.client.write_api import SYNCHRONOUS
        except ImportError as exc:
            raise SettingsError(f"the InfluxDB output needs influxdb-client ({INSTALL_HINT})") from exc
        self.settings = settings
        self._client = InfluxDBClient(
            url=settings.url,
            token=str(settings.token),
            org=settings.org,
            timeout=int(settings.timeout_s * 1000),
            retries=False,
        )
        self._api = self._client.write_api(write_options=SYNCHRONOUS)

    def write(self, lines: list[str]) -> None:
        if not lines:
            return
        try:
            self._api.write(
                bucket=self.settings.bucket,
                org=self.settings.org,
                record="\n".join(lines),
                write_precision="ms",
            )
        except Exception as exc:
            raise WriteFailed(*describe_error(exc)) from None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client whose server is gone must not break the quit
            self._client.close()


def describe_error(exc: BaseException) -> tuple[str, bool]:
    """(short reason, retryable) for a failed write; never the exception's own text."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        reason = (getattr(exc, "reason", None) or "").strip().lower()[:40]
        return f"HTTP {status}{' ' + reason if reason else ''}", status == 429 or status >= 500
    cause = _root_cause(exc)
    if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
        return "connection refused", True
    if isinstance(cause, TimeoutError | socket.timeout) or "timeout" in type(cause).__name__.lower():
        return "timed out", True
    if isinstance(cause, socket.gaierror):
        return "unknown host", True
    return type(cause).__name__, True


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception: urllib3 wraps socket errors in MaxRetryError/NewConnectionError."""
    seen: set[int] = set()
    current: Any = exc
    while id(current) not in seen:
        seen.add(id(current))
        inner = getattr(current, "reason", None)
        if not isinstance(inner, BaseException):
            inner = current.__cause__ or current.__context__
        if not isinstance(inner, BaseException):
            break
        current = inner
    return current
