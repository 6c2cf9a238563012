"""Response classification: one pure function per endpoint contract, and the failure names.

Every response becomes OK, ERROR (with a name that says what went wrong) or SHED. Names end up in
Locust's failures table and in our reports, so they are short and stable: `timeout`,
`connection refused`, `http 500`, `truncated stream`, `invalid body: intent.type missing`.
Shedding (429, or 503 with Retry-After) is kept apart from errors so the stress report can tell
graceful degradation from breakage; a 5xx without Retry-After is always an error.
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

OK = "ok"
ERROR = "error"
SHED = "shed"

EXPECTED_STATUS: dict[str, frozenset[int]] = {
    "health": frozenset({200}),
    "intent": frozenset({200}),
    "step": frozenset({200, 202}),
    "chat": frozenset({200}),
}


@dataclass(frozen=True)
class Outcome:
    kind: str
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind == OK


SUCCESS = Outcome(OK)


def failure_name(exc: BaseException) -> str:
    """A stable name for a transport-level failure, whatever library raised it."""
    if isinstance(exc, TimeoutError | socket.timeout) or type(exc).__name__ == "Timeout":
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "dns failure"
    if isinstance(exc, ssl.SSLError):
        return "tls error"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED,):
        return "connection refused"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "connection reset"
    if type(exc).__name__ == "HTTPConnectionClosed":
        return "connection reset"
    if type(exc).__name__ == "HTTPParseError":
        return "invalid response"
    return f"connection error: {type(exc).__name__}"


def classify_status(endpoint: str, status: int, headers: Mapping[str, str]) -> Outcome | None:
    """Judge the status line alone; None means "expected, now check the body"."""
    if status == 429:
        return Outcome(SHED, "shed: http 429")
    if status == 503 and _header(headers, "retry-after"):
        return Outcome(SHED, "shed: http 503")
    if status not in EXPECTED_STATUS[endpoint]:
        return Outcome(ERROR, f"http {status}")
    return None


def classify(
    endpoint: str, status: int, headers: Mapping[str, str], body: bytes, sent: Mapping[str, Any]
) -> Outcome:
    """Classify a complete (non-streamed) response to `sent` on `endpoint`."""
    by_status = classify_status(endpoint, status, headers)
    if by_status is not None:
        return by_status
    if endpoint == "step" and status == 202:
        return SUCCESS  # accepted for asynchronous execution: no result to check yet
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return Outcome(ERROR, "invalid body: not JSON")
    problem = BODY_CHECKS[endpoint](document, sent)
    return Outcome(ERROR, f"invalid body: {problem}") if problem else SUCCESS


def _check_health(document: Any, sent: Mapping[str, Any]) -> str | None:
    return None if isinstance(document, dict) and document.get("status") == "ok" else "status is not ok"


def _check_intent(document: Any, sent: Mapping[str, Any]) -> str | None:
    intent = document.get("intent") if isinstance(document, dict) else None
    if not isinstance(intent, dict) or not isinstance(intent.get("type"), str):
        return "intent.type missing"
    return None


def _check_step(document: Any, sent: Mapping[str, Any]) -> str | None:
    if not isinstance(document, dict) or document.get("executionId") != sent.get("executionId"):
        return "executionId not echoed"
    return None


def _check_chat(document: Any, sent: Mapping[str, Any]) -> str | None:
    message = document.get("message") if isinstance(document, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        return "message.content missing"
    return None


BODY_CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], str | None]] = {
    "health": _check_health,
    "intent": _check_intent,
    "step": _check_step,
    "chat": _check_chat,
}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None
