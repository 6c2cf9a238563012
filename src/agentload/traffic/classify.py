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
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentload.recording.samples import Sample
from agentload.traffic.endpoints import Endpoint
from agentload.traffic.iteration import scheduled_start
from agentload.traffic.server_timing import server_timing_of

OK = "ok"
ERROR = "error"
SHED = "shed"

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


def classify_status(endpoint: Endpoint, status: int, headers: Mapping[str, str]) -> Outcome | None:
    """Judge the status line alone; None means "expected, now check the body"."""
    shed = shed_outcome(status, headers)
    if shed is not None:
        return shed
    if status not in endpoint.expected:
        return Outcome(ERROR, f"http {status}")
    return None


def shed_outcome(status: int, headers: Mapping[str, str] | None) -> Outcome | None:
    """429, or 503 with Retry-After: the platform shed the request (graceful), not an error."""
    if status == 429:
        return Outcome(SHED, "shed: http 429")
    if status == 503 and headers and _header(headers, "retry-after"):
        return Outcome(SHED, "shed: http 503")
    return None


def classify(
    endpoint: Endpoint, status: int, headers: Mapping[str, str], body: bytes, sent: Mapping[str, Any]
) -> Outcome:
    """Classify a complete (non-streamed) response to `sent` on `endpoint`."""
    return classify_status(endpoint, status, headers) or classify_body(endpoint, status, body, sent)


def classify_body(endpoint: Endpoint, status: int, body: bytes, sent: Mapping[str, Any]) -> Outcome:
    """Judge the body of a response whose status `endpoint` expects (see `classify_status`)."""
    if status in endpoint.no_body or endpoint.check is None:
        return SUCCESS
    try:
        document = load_json(body)
    except (ValueError, UnicodeDecodeError):
        return Outcome(ERROR, "invalid body: not JSON")
    problem = endpoint.check(document, sent)
    return Outcome(ERROR, f"invalid body: {problem}") if problem else SUCCESS


_DECODER = json.JSONDecoder()


def load_json(body: bytes) -> Any:
    """`json.loads(body)`, in less than half the time for the usual body: a JSON object in UTF-8.

    `json.loads` sniffs a body's encoding and skips white space around the document in Python code,
    which costs more than parsing a small body. A body that starts with `{"` is UTF-8 to that sniffing
    and has no white space before the document, so only the white space after it is left to check.
    """
    if not body.startswith(b'{"'):
        return json.loads(body)
    text = body.decode("utf-8", "surrogatepass")
    document, end = _DECODER.raw_decode(text)
    if text[end:].strip(" \t\n\r"):  # JSON's white space only, as json.loads allows
        raise json.JSONDecodeError("Extra data", text, end)
    return document


def classify_event(
    status: int, headers: Mapping[str, str] | None, exception: BaseException | None
) -> Outcome:
    """Judge a request some other user class reported to Locust (plain `self.client.get(...)`).

    Locust already decided success or failure; this names it the way the suite's own requests
    are named: shedding apart, `http <status>` for an HTTP failure, the transport failure's name
    (`connection refused`, `timeout`, ...) when there was no response, else the exception's text.
    """
    if exception is None:
        return SUCCESS
    shed = shed_outcome(status, headers)
    if shed is not None:
        return shed
    if status >= 400:
        return Outcome(ERROR, f"http {status}")
    if not status and not _is_reported_failure(exception):
        return Outcome(ERROR, failure_name(root_cause(exception)))
    return Outcome(ERROR, _failure_text(exception))


def _is_reported_failure(exc: BaseException) -> bool:
    """`response.failure(...)` and hand-fired events carry the user's own words, not a socket error."""
    return type(exc).__name__ in ("CatchResponseError", "RequestFailure") or type(exc) is Exception


def _failure_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."


def root_cause(exc: BaseException | None) -> BaseException:
    """geventhttpclient wraps the real socket error in RetriesExceeded; unwrap it for naming."""
    while exc is not None and getattr(exc, "original", None) is not None:
        exc = exc.original
    return exc if exc is not None else RuntimeError("unknown failure")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def event_sample(
    name: str, response_time: float, exception: BaseException | None, response: Any
) -> Sample:
    """The sample of a request that reached Locust's request event without one of ours attached.

    Its metric is the request's name; inside an arrival-rate iteration the latency from the
    scheduled start is kept too (the request started `response_time` ago).
    """
    status = int(getattr(response, "status_code", 0) or 0)
    outcome = classify_event(status, getattr(response, "headers", None), exception)
    scheduled_at = scheduled_start()
    lag_ms = None
    if scheduled_at is not None:
        lag_ms = max(0.0, (time.perf_counter() - scheduled_at) * 1000 - float(response_time or 0.0))
    latency = float(response_time or 0.0)
    sample = Sample(str(name), latency, outcome.kind, outcome.failure, status, schedule_lag_ms=lag_ms)
    headers = getattr(response, "headers", None)
    if headers:
        sample.server_timing = server_timing_of(headers)
        sample.trace_id = _trace_id(response)
    sample.started_at = time.time() - latency / 1000
    return sample


def _trace_id(response: Any) -> str | None:
    """The X-Trace-Id a plain Locust request sent (or the server echoed), if any."""
    request = getattr(response, "request", None)
    sent = getattr(request, "headers", None)
    trace = sent.get("X-Trace-Id") if sent else None
    return trace or response.headers.get("X-Trace-Id")
