"""Response classification: every class and failure name, including the edge cases."""

import errno
import json
import socket
import ssl

import gevent
import pytest

from agentload.traffic.classify import (
    ERROR,
    OK,
    SHED,
    classify,
    classify_event,
    event_sample,
    failure_name,
    load_json,
)
from agentload.traffic.endpoints import BUILTIN_ENDPOINTS

INTENT_OK = json.dumps(
    {"intent": {"type": "order_taxi", "confidence": 0.9, "entities": {}}, "intents": []}
).encode()
STEP_SENT = {"executionId": "exec-1", "stepIndex": 1}


@pytest.mark.parametrize(
    ("endpoint", "status", "headers", "body", "kind", "failure"),
    [
        ("intent", 200, {}, INTENT_OK, OK, None),
        ("intent", 200, {}, b'{"intent": {}}', ERROR, "invalid body: intent.type missing"),
        ("intent", 200, {}, b'["valid json", "wrong shape"]', ERROR, "invalid body: intent.type missing"),
        ("intent", 200, {}, b"<html>", ERROR, "invalid body: not JSON"),
        ("intent", 500, {}, b"", ERROR, "http 500"),
        ("intent", 502, {}, b"", ERROR, "http 502"),
        ("intent", 503, {}, b"", ERROR, "http 503"),
        ("intent", 503, {"Retry-After": "1"}, b"", SHED, "shed: http 503"),
        ("intent", 429, {"retry-after": "1"}, b"", SHED, "shed: http 429"),
        ("intent", 429, {}, b"", SHED, "shed: http 429"),
        ("intent", 401, {}, b"{}", ERROR, "http 401"),
        ("intent", 404, {}, b"{}", ERROR, "http 404"),
        ("step", 200, {}, json.dumps({"executionId": "exec-1"}).encode(), OK, None),
        ("step", 202, {}, b'{"status": "accepted"}', OK, None),
        (
            "step",
            200,
            {},
            json.dumps({"executionId": "other"}).encode(),
            ERROR,
            "invalid body: executionId not echoed",
        ),
        ("step", 201, {}, b"{}", ERROR, "http 201"),
        ("chat", 200, {}, b'{"message": {"role": "assistant", "content": "hi"}}', OK, None),
        ("chat", 200, {}, b'{"message": {}}', ERROR, "invalid body: message.content missing"),
        ("health", 200, {}, b'{"status": "ok"}', OK, None),
        ("health", 200, {}, b'{"status": "degraded"}', ERROR, "invalid body: status is not ok"),
    ],
)
def test_classification_table(endpoint, status, headers, body, kind, failure) -> None:
    """Status and body decide OK, ERROR with a name, or SHED, per endpoint contract."""
    outcome = classify(BUILTIN_ENDPOINTS[endpoint], status, headers, body, STEP_SENT)
    assert (outcome.kind, outcome.failure) == (kind, failure)


def _loaded(load, body):
    try:
        return "ok", load(body)
    except UnicodeDecodeError:
        return "UnicodeDecodeError", None
    except ValueError:
        return "ValueError", None


@pytest.mark.parametrize(
    "body",
    [
        b'{"status": "ok"}',
        b'{"status":"ok"}\n',
        b'{"a": 1} \t\r\n',
        b'{"a": 1} x',
        b'{"a": 1}\x0b',
        b'{"a": 1}{}',
        b'{"a": "caf\xc3\xa9"}',
        b'{"a": "\xff"}',
        b'{"a": "\\ud800"}',
        b'{"a"',
        b'{"',
        b"{}",
        b" {}",
        b"[1, 2]",
        b"",
        b"<html>",
        '{"a": 1}'.encode("utf-8-sig"),
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-16-le"),
        b'{"a": NaN}',
    ],
)
def test_load_json_is_json_loads(body) -> None:
    """The short cut for UTF-8 objects parses and fails exactly as json.loads does."""
    assert _loaded(load_json, body) == _loaded(json.loads, body)


@pytest.mark.parametrize(
    ("exc", "name"),
    [
        (TimeoutError(), "timeout"),
        (gevent.Timeout(), "timeout"),  # what geventhttpclient (FastHttpUser) raises
        (ConnectionAbortedError(), "connection reset"),
        (OSError(errno.EPIPE, "broken pipe"), "connection reset"),
        (ssl.SSLError(1, "certificate verify failed"), "tls error"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "connection refused"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "connection reset"),
        (BrokenPipeError(), "connection reset"),
        (socket.gaierror(-2, "Name or service not known"), "dns failure"),
        (OSError(errno.ECONNREFUSED, "refused"), "connection refused"),
        (ValueError("odd"), "connection error: ValueError"),
    ],
)
def test_transport_failures_have_stable_names(exc, name) -> None:
    """Transport exceptions map to short, stable failure names."""
    assert failure_name(exc) == name


class CatchResponseError(Exception):
    """Stands in for Locust's exception of `response.failure("...")` (matched by class name)."""


@pytest.mark.parametrize(
    ("status", "headers", "exception", "kind", "failure"),
    [
        (200, {}, None, OK, None),
        (500, {}, Exception("500 Server Error"), ERROR, "http 500"),
        (503, {"Retry-After": "1"}, Exception("503"), SHED, "shed: http 503"),
        (429, {}, Exception("429"), SHED, "shed: http 429"),
        (404, {}, Exception("404"), ERROR, "http 404"),
        (200, {}, CatchResponseError("status is not 200"), ERROR, "status is not 200"),
        (0, None, ConnectionRefusedError(errno.ECONNREFUSED, "refused"), ERROR, "connection refused"),
        (0, None, TimeoutError(), ERROR, "timeout"),
        (0, None, Exception("hand-fired " + "x" * 100), ERROR, "hand-fired " + "x" * 66 + "..."),
    ],
)
def test_plain_request_events_are_named_like_ours(status, headers, exception, kind, failure) -> None:
    """A request some other user class reported is shed, an `http N` error, a transport name or its text."""
    outcome = classify_event(status, headers, exception)
    assert (outcome.kind, outcome.failure) == (kind, failure)


def test_event_sample_is_named_by_the_request() -> None:
    """The sample of a plain request carries Locust's name, latency and status, and no schedule lag."""
    response = type("Response", (), {"status_code": 502, "headers": {}})()
    sample = event_sample("/api/search", 12.5, Exception("502"), response)
    assert (sample.metric, sample.latency_ms, sample.outcome, sample.failure, sample.status) == (
        "/api/search",
        12.5,
        ERROR,
        "http 502",
        502,
    )
    assert sample.schedule_lag_ms is None
