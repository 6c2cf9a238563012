"""Contract tests of the reference platform, against real server processes (no mocks).

Servers run in fixed-timing mode with small latencies so the whole file stays well under a minute.
Timing assertions are generous on purpose: the machine is shared (2 cores, other test suites
running), so a sleep may overshoot by a lot but never finish early by more than a millisecond or so.
Lower bounds are therefore tight and upper bounds wide (seconds); where an exact value must be
checked, the server's own Server-Timing value is used.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentload.platform.process import USER_HEADERS, PlatformProcess, Reply, start_platform

from tools import wait_until

TTFT_MS, ITL_MS, TOKENS = 150, 30, 10
FIXED_ARGS = (
    "--fixed-latency-ms",
    "intent=20,step=20",
    "--fixed-ttft-ms",
    str(TTFT_MS),
    "--fixed-itl-ms",
    str(ITL_MS),
    "--fixed-tokens",
    str(TOKENS),
    "--async-step-rate",
    "0",
)
MESSAGES = [{"role": "user", "content": "book a table for 2 at 7pm and order a taxi"}]
KEY = {"X-Internal-System-Key": "test-key"}
STEP_BODY = {"executionId": "exec-1", "stepIndex": 3}


@pytest.fixture(scope="module")
def platform() -> Iterator[PlatformProcess]:
    """A platform shared by the tests that do not change faults."""
    with start_platform(*FIXED_ARGS) as proc:
        yield proc


@pytest.fixture
def faulty() -> Iterator[PlatformProcess]:
    """A fresh platform per test, for tests that switch faults on."""
    with start_platform(*FIXED_ARGS) as proc:
        yield proc


def server_timing_ms(reply_or_header: Reply | str, metric: str = "app") -> float:
    """``dur`` of ``metric`` in a Server-Timing header."""
    header = reply_or_header if isinstance(reply_or_header, str) else reply_or_header.header("Server-Timing")
    match = re.search(rf"(?:^|,\s*){metric};dur=(\d+\.\d{{3}})", header or "")
    assert match, f"no {metric};dur=... in Server-Timing {header!r}"
    return float(match.group(1))


@dataclass
class SseResult:
    status: int
    headers: dict[str, str]
    events: list[tuple[float, str]]  # (seconds since the request was sent, data payload)
    broken: bool  # the client saw a read error (http.client often just sees EOF on a cut stream)

    @property
    def done(self) -> bool:
        """The stream ended with the [DONE] event."""
        return bool(self.events) and self.events[-1][1] == "[DONE]"


def read_sse(
    proc: PlatformProcess,
    body: dict,
    headers: dict[str, str] | None = None,
    path: str = "/api/chat",
    timeout: float = 10.0,
) -> SseResult:
    """POST a chat and record the arrival time of every ``data:`` line."""
    conn = http.client.HTTPConnection(proc.host, proc.port, timeout=timeout)
    all_headers = {
        "Content-Type": "application/json",
        "Accept": "text/event-stream",
        **USER_HEADERS,
        **(headers or {}),
    }
    start = time.monotonic()
    conn.request("POST", path, json.dumps(body), all_headers)
    resp = conn.getresponse()
    events, broken = [], False
    try:
        while line := resp.readline():
            if line.startswith(b"data: "):
                events.append((time.monotonic() - start, line[6:].decode().strip()))
    except (http.client.IncompleteRead, ConnectionError):
        broken = True
    finally:
        conn.close()
    return SseResult(resp.status, dict(resp.getheaders()), events, broken)


def post(
    proc: PlatformProcess,
    path: str,
    body: object,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> Reply:
    """POST JSON with the user identity headers unless ``headers`` is given."""
    return proc.request("POST", path, body, USER_HEADERS if headers is None else headers, timeout)


# --- success shapes ------------------------------------------------------------------------------


def test_health_shape(platform: PlatformProcess) -> None:
    """GET /api/health answers 200 {"status": "ok", "uptime_s": ...} without credentials."""
    reply = platform.request("GET", "/api/health")
    assert reply.status == 200
    body = reply.json()
    assert body["status"] == "ok" and body["uptime_s"] >= 0


def test_intent_shape_with_several_intents(platform: PlatformProcess) -> None:
    """A message with two requests yields two intents with type, confidence and entities."""
    reply = post(platform, "/api/intent", {"messages": MESSAGES, "userLocation": {"lat": 52.5, "lng": 13.4}})
    assert reply.status == 200
    body = reply.json()
    assert [i["type"] for i in body["intents"]] == ["book_restaurant", "order_taxi"]
    assert body["intent"] == body["intents"][0]
    for intent in body["intents"]:
        assert 0 < intent["confidence"] <= 1 and isinstance(intent["entities"], dict)


def test_intent_fallback_is_general_question(platform: PlatformProcess) -> None:
    """A message without known keywords is classified as general_question."""
    reply = post(platform, "/api/intent", {"messages": [{"role": "user", "content": "hmm, interesting"}]})
    assert reply.json()["intent"]["type"] == "general_question"


def test_step_completed_shape(platform: PlatformProcess) -> None:
    """execute-step with the system key answers 200 completed and echoes executionId/stepIndex."""
    reply = post(platform, "/api/webhooks/execute-step", STEP_BODY, KEY)
    assert reply.status == 200
    body = reply.json()
    assert body["executionId"] == "exec-1" and body["stepIndex"] == 3
    assert body["status"] == "completed" and isinstance(body["result"], dict)


def test_step_async_is_accepted_with_202(platform: PlatformProcess) -> None:
    """A step with "async": true is answered 202 {"status": "accepted", "executionId": ...}."""
    reply = post(platform, "/api/webhooks/execute-step", {**STEP_BODY, "async": True}, KEY)
    assert reply.status == 202
    assert reply.json()["status"] == "accepted" and reply.json()["executionId"] == "exec-1"


def test_step_async_share_defaults_to_some_202s() -> None:
    """With the default async share (10%) some of many steps are answered 202, most 200."""
    with start_platform("--fixed-latency-ms", "0") as proc:
        statuses = [post(proc, "/api/webhooks/execute-step", STEP_BODY, KEY).status for _ in range(100)]
    assert set(statuses) == {200, 202}
    assert 1 <= statuses.count(202) <= 30


def test_chat_non_stream_shape(platform: PlatformProcess) -> None:
    """A chat without streaming returns {"message": {"role": "assistant", "content"}, "usage"}."""
    reply = post(platform, "/api/chat", {"messages": MESSAGES})
    assert reply.status == 200
    body = reply.json()
    assert body["message"]["role"] == "assistant" and body["message"]["content"]
    assert body["usage"]["completion_tokens"] == TOKENS
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + TOKENS


def test_chat_stream_openai_framing(platform: PlatformProcess) -> None:
    """The default stream is OpenAI chat.completion.chunk events, a usage chunk, then [DONE]."""
    result = read_sse(platform, {"messages": MESSAGES})
    assert result.status == 200 and result.done and not result.broken
    assert result.headers["Content-Type"].startswith("text/event-stream")
    datas = [data for _, data in result.events]
    assert datas[-1] == "[DONE]"
    chunks = [json.loads(d) for d in datas[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    tokens = [c["choices"][0]["delta"]["content"] for c in chunks[:-1]]
    assert len(tokens) == TOKENS and all(t.endswith(" ") for t in tokens)
    final = chunks[-1]
    assert final["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}
    assert final["usage"]["completion_tokens"] == TOKENS


def test_chat_stream_ai_sdk_framing(platform: PlatformProcess) -> None:
    """X-Stream-Format: ai-sdk gives the UI message stream (start ... finish, [DONE]) and its header."""
    result = read_sse(platform, {"messages": MESSAGES, "stream": True}, {"X-Stream-Format": "ai-sdk"})
    assert result.status == 200 and result.done and not result.broken
    assert result.headers["x-vercel-ai-ui-message-stream"] == "v1"
    datas = [data for _, data in result.events]
    assert datas[-1] == "[DONE]"
    types = [json.loads(d)["type"] for d in datas[:-1]]
    assert types == ["start", "text-start", *["text-delta"] * TOKENS, "text-end", "finish"]


def test_chat_stream_selected_by_body_flag(platform: PlatformProcess) -> None:
    """ "stream": true streams even without Accept: text/event-stream."""
    result = read_sse(platform, {"messages": MESSAGES, "stream": True}, {"Accept": "*/*"})
    assert result.events[-1][1] == "[DONE]"


def test_first_event_arrives_at_ttft_not_at_end(platform: PlatformProcess) -> None:
    """Events are flushed one by one: the first at ~ttft, the last about (tokens-1)*itl later."""
    result = read_sse(platform, {"messages": MESSAGES})
    first, last = result.events[0][0], result.events[-1][0]
    assert first >= TTFT_MS / 1000 * 0.95  # a sleep never ends early (1 ms of clock slack)
    spread_s = (TOKENS - 1) * ITL_MS / 1000
    assert last - first >= spread_s * 0.9, "events arrived in one burst instead of being streamed"


def test_stream_server_timing_carries_planned_ttft(platform: PlatformProcess) -> None:
    """A stream's Server-Timing has app;dur (planned total) and ttft;dur (planned first token)."""
    result = read_sse(platform, {"messages": MESSAGES})
    header = result.headers["Server-Timing"]
    ttft, app = server_timing_ms(header, "ttft"), server_timing_ms(header, "app")
    assert TTFT_MS <= ttft < TTFT_MS + 1000  # plus the time the server spent before it (generous)
    assert app - ttft == pytest.approx((TOKENS - 1) * ITL_MS, abs=0.002)  # both planned from one start


def test_server_timing_on_every_response(platform: PlatformProcess) -> None:
    """Success and error answers alike carry Server-Timing: app;dur=<ms with 3 decimals>."""
    replies = [
        platform.request("GET", "/api/health"),
        post(platform, "/api/intent", {"messages": MESSAGES}),
        post(platform, "/api/intent", {"messages": MESSAGES}, headers={}),
        post(platform, "/api/intent", b"{oops"),
        platform.request("GET", "/nowhere"),
    ]
    for reply in replies:
        assert server_timing_ms(reply) >= 0
    assert server_timing_ms(replies[1]) >= 20  # the fixed intent latency


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/intent", "/api/chat"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Test-User-Id": "u1"},
        {"X-Clerk-Id": "c1"},
        {"X-Test-User-Id": "", "X-Clerk-Id": "c1"},
    ],
)
def test_user_endpoints_require_identity_headers(platform: PlatformProcess, path: str, headers: dict) -> None:
    """intent and chat answer 401 with a JSON error unless both identity headers are non-empty."""
    reply = post(platform, path, {"messages": MESSAGES}, headers)
    assert reply.status == 401 and "error" in reply.json()


@pytest.mark.parametrize("headers", [{}, {"X-Internal-System-Key": "wrong"}, {"X-Internal-System-Key": ""}])
def test_step_requires_system_key(platform: PlatformProcess, headers: dict) -> None:
    """execute-step answers 401 for a missing or wrong X-Internal-System-Key."""
    reply = post(platform, "/api/webhooks/execute-step", STEP_BODY, headers)
    assert reply.status == 401 and "X-Internal-System-Key" in reply.json()["error"]


BAD_CHAT_BODIES = [
    (b"{not json", "malformed JSON"),
    (b"", "empty"),
    (b"[1, 2]", "must be an object"),
    ({}, "messages"),
    ({"messages": []}, "messages"),
    ({"messages": "hi"}, "messages"),
    ({"messages": ["hi"]}, "messages[0]"),
    ({"messages": [{"role": "user"}]}, "messages[0].content"),
    ({"messages": [{"role": 1, "content": "x"}]}, "messages[0].role"),
    ({"messages": MESSAGES, "userLocation": {"lat": "x", "lng": 1}}, "userLocation.lat"),
    ({"messages": MESSAGES, "stream": "yes"}, "stream"),
]


@pytest.mark.parametrize(("body", "named"), BAD_CHAT_BODIES)
@pytest.mark.parametrize("path", ["/api/intent", "/api/chat"])
def test_bad_chat_bodies_are_400(platform: PlatformProcess, path: str, body: object, named: str) -> None:
    """Malformed or mistyped intent/chat bodies get 400 with an error naming the problem."""
    reply = post(platform, path, body)
    assert reply.status == 400
    assert named in reply.json()["error"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"stepIndex": 1}, "executionId"),
        ({"executionId": "", "stepIndex": 1}, "executionId"),
        ({"executionId": 7, "stepIndex": 1}, "executionId"),
        ({"executionId": "e", "stepIndex": "1"}, "stepIndex"),
        ({"executionId": "e", "stepIndex": True}, "stepIndex"),
        ({"executionId": "e", "stepIndex": 1.5}, "stepIndex"),
        ({"executionId": "e", "stepIndex": 1, "async": "no"}, "async"),
        (b"{", "malformed JSON"),
    ],
)
def test_bad_step_bodies_are_400(platform: PlatformProcess, body: object, named: str) -> None:
    """Malformed or mistyped execute-step bodies get 400 with an error naming the field."""
    reply = post(platform, "/api/webhooks/execute-step", body, KEY)
    assert reply.status == 400 and named in reply.json()["error"]


def test_body_over_limit_is_413(platform: PlatformProcess) -> None:
    """A body over --max-body (64 KiB) gets 413 with a JSON error, with or without Content-Length."""
    big = json.dumps({"messages": [{"role": "user", "content": "x" * 70_000}]}).encode()
    assert post(platform, "/api/intent", big).status == 413
    conn = http.client.HTTPConnection(platform.host, platform.port, timeout=10)
    conn.request(
        "POST", "/api/chat", iter([big[:40_000], big[40_000:]]), {**USER_HEADERS}, encode_chunked=True
    )
    resp = conn.getresponse()
    assert resp.status == 413 and "error" in json.loads(resp.read())
    conn.close()


def test_unknown_route_and_wrong_method(platform: PlatformProcess) -> None:
    """Unknown routes get a JSON 404, a wrong method a JSON 405 with Allow."""
    missing = platform.request("GET", "/api/nope")
    assert missing.status == 404 and "/api/nope" in missing.json()["error"]
    wrong = platform.request("GET", "/api/intent")
    assert wrong.status == 405 and wrong.header("Allow") == "POST" and "error" in wrong.json()


# --- faults --------------------------------------------------------------------------------------


def test_error_rate_one_gives_5xx(faulty: PlatformProcess) -> None:
    """error_rate intent=1.0 answers every intent 500/503 (no Retry-After) and leaves health alone."""
    faulty.set_faults(error_rate="intent=1.0")
    replies = [post(faulty, "/api/intent", {"messages": MESSAGES}) for _ in range(8)]
    assert {r.status for r in replies} <= {500, 503}
    assert all("error" in r.json() and r.header("Retry-After") is None for r in replies)
    assert faulty.request("GET", "/api/health").status == 200


def test_error_rate_flag_at_start() -> None:
    """--error-rate 1 at start makes every endpoint fail with 5xx."""
    with start_platform("--fixed-latency-ms", "0", "--error-rate", "1") as proc:
        assert proc.request("GET", "/api/health").status in (500, 503)
        assert post(proc, "/api/webhooks/execute-step", STEP_BODY, KEY).status in (500, 503)


def test_latency_scale_visible_in_server_timing(faulty: PlatformProcess) -> None:
    """latency_scale 5 turns the fixed 20 ms intent into >= 100 ms of reported service time."""
    faulty.set_faults(latency_scale={"intent": 5})
    reply = post(faulty, "/api/intent", {"messages": MESSAGES})
    assert reply.status == 200 and server_timing_ms(reply) >= 99
    assert faulty.faults()["latency_scale"]["intent"] == 5


def test_stall_holds_until_client_gives_up_and_frees_the_slot(faulty: PlatformProcess) -> None:
    """A stalled request is never answered (client timeout) and its slot is freed on disconnect."""
    faulty.set_faults(stall_rate={"intent": 1.0})
    with pytest.raises(TimeoutError):
        post(faulty, "/api/intent", {"messages": MESSAGES}, timeout=1.0)
    wait_until(lambda: faulty.stats()["capacity"]["in_use"] == 0, 10, "the slot to be freed", every=0.05)
    stats = faulty.stats()
    assert stats["capacity"]["in_use"] == 0
    assert stats["requests"]["intent"]["stalled"] == 1


def test_stall_is_capped_by_stall_max(faulty: PlatformProcess) -> None:
    """With stall_max_s 0.5 a stalled request is dropped (connection closed) after the cap."""
    faulty.set_faults(stall_rate={"step": 1.0}, stall_max_s=0.5)
    started = time.monotonic()
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        post(faulty, "/api/webhooks/execute-step", STEP_BODY, KEY, timeout=10)
    held_s = time.monotonic() - started
    assert 0.49 <= held_s < 5, f"dropped after {held_s:.2f}s, not at the 0.5 s cap"  # wide: shared cores


def test_truncated_stream_has_no_done(faulty: PlatformProcess) -> None:
    """truncate_rate chat=1 sends some tokens, then closes the connection without [DONE]."""
    faulty.set_faults(truncate_rate={"chat": 1.0})
    result = read_sse(faulty, {"messages": MESSAGES})
    assert result.status == 200 and not result.done
    datas = [d for _, d in result.events]
    assert 1 <= len(datas) < TOKENS and "[DONE]" not in datas
    counts = faulty.stats()["requests"]["chat"]
    assert counts["200"] == 1 and counts["truncated"] == 1


def test_truncated_json_body_is_short(faulty: PlatformProcess) -> None:
    """truncate_rate on a JSON endpoint sends half the announced Content-Length, then closes."""
    faulty.set_faults(truncate_rate={"intent": 1.0})
    with pytest.raises(http.client.IncompleteRead):
        post(faulty, "/api/intent", {"messages": MESSAGES})


def test_reset_rate_resets_the_connection(faulty: PlatformProcess) -> None:
    """reset_rate health=1 resets the TCP connection before any byte of answer."""
    faulty.set_faults(reset_rate={"health": 1.0})
    with socket.create_connection((faulty.host, faulty.port), timeout=10) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            data = sock.recv(1024)
            pytest.fail(f"no reset: recv returned {data!r} (b'' is a graceful close)")
    assert faulty.stats()["requests"]["health"]["reset"] == 1


def test_faults_hit_only_the_named_endpoint(faulty: PlatformProcess) -> None:
    """A per-endpoint fault spec leaves the other endpoints healthy."""
    faulty.set_faults(error_rate="chat=1", reset_rate={"health": 1.0})
    assert post(faulty, "/api/intent", {"messages": MESSAGES}).status == 200
    assert post(faulty, "/api/webhooks/execute-step", STEP_BODY, KEY).status == 200


# --- capacity ------------------------------------------------------------------------------------


def _burst(proc: PlatformProcess, n: int) -> list[Reply]:
    with ThreadPoolExecutor(n) as pool:
        return list(
            pool.map(lambda _: post(proc, "/api/intent", {"messages": MESSAGES}, timeout=30), range(n))
        )


def test_shedding_past_the_queue_gives_fast_429() -> None:
    """With 1 slot and a queue of 1, a burst of 6 gets >= 2 answers and fast 429s with Retry-After: 1."""
    with start_platform("--slots", "1", "--queue", "1", "--fixed-latency-ms", "intent=600") as proc:
        replies = _burst(proc, 6)
        statuses = sorted(r.status for r in replies)
        assert set(statuses) <= {200, 429} and statuses.count(200) >= 2 and statuses.count(429) >= 1
        for reply in (r for r in replies if r.status == 429):
            assert reply.header("Retry-After") == "1" and "overloaded" in reply.json()["error"]
            assert server_timing_ms(reply) < 200  # shed at once, not after the 600 ms service time
        assert proc.stats()["requests"]["intent"]["429"] == statuses.count(429)
        proc.set_faults(overload_mode="error")
        assert 500 in {r.status for r in _burst(proc, 6)}


def test_queue_wait_adds_to_service_time() -> None:
    """A request that waited for the only slot reports the wait in its Server-Timing."""
    with start_platform("--slots", "1", "--queue", "4", "--fixed-latency-ms", "intent=300") as proc:
        times = sorted(server_timing_ms(r) for r in _burst(proc, 2))
    assert times[0] >= 299 and times[1] >= 599


# --- admin and stats -----------------------------------------------------------------------------


def test_stats_count_every_answer() -> None:
    """/_admin/stats counts answers per endpoint and status; reset (with key) zeros them."""
    with start_platform("--fixed-latency-ms", "0") as proc:
        for _ in range(3):
            proc.request("GET", "/api/health")
        post(proc, "/api/intent", {"messages": MESSAGES})
        post(proc, "/api/intent", {"messages": MESSAGES}, headers={})
        post(proc, "/api/chat", {"messages": []})
        stats = proc.request("GET", "/_admin/stats").json()  # no key needed
        assert stats["requests"]["health"] == {"200": 3}
        assert stats["requests"]["intent"] == {"200": 1, "401": 1}
        assert stats["requests"]["chat"] == {"400": 1}
        assert stats["totals"]["200"] == 4 and stats["in_flight"] == 0
        assert proc.request("POST", "/_admin/stats/reset", {}).status == 401
        assert proc.reset_stats()["requests"] == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_admin/faults"),
        ("POST", "/_admin/faults"),
        ("POST", "/_admin/stats/reset"),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"X-Internal-System-Key": "nope"}])
def test_admin_requires_the_key(platform: PlatformProcess, method: str, path: str, headers: dict) -> None:
    """Admin endpoints that read faults or change state answer 401 without the right key."""
    reply = platform.request(method, path, {} if method == "POST" else None, headers)
    assert reply.status == 401 and "error" in reply.json()


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"bogus": 1}, "bogus"),
        ({"error_rate": 2}, "error_rate"),
        ({"error_rate": "intent=x"}, "'x'"),
        ({"error_rate": {"nowhere": 1}}, "nowhere"),
        ({"overload_mode": "panic"}, "panic"),
    ],
)
def test_admin_rejects_bad_fault_settings(platform: PlatformProcess, body: dict, named: str) -> None:
    """POST /_admin/faults answers 400 naming the bad key or value, and changes nothing."""
    reply = platform.request("POST", "/_admin/faults", body, KEY)
    assert reply.status == 400 and named in reply.json()["error"]
    assert platform.faults()["error_rate"]["intent"] == 0


def test_admin_faults_round_trip(faulty: PlatformProcess) -> None:
    """POST /_admin/faults returns the new settings and GET shows them; "shed": false means queue mode."""
    after = faulty.set_faults(latency_scale=3, error_rate={"intent": 0.5}, shed=False)
    assert after["latency_scale"] == {"health": 3, "intent": 3, "step": 3, "chat": 3}
    assert after["error_rate"]["intent"] == 0.5 and after["error_rate"]["chat"] == 0
    assert after["overload_mode"] == "queue" and faulty.faults() == after


# --- process behaviour ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags",
    [
        ["--error-rate", "intent=abc"],
        ["--slots", "0"],
        ["--latency-scale", "x=1"],
        ["--fixed-tokens", "0"],
        ["--overload-mode", "maybe"],
    ],
)
def test_bad_flags_exit_2_with_one_line(flags: list[str]) -> None:
    """A bad flag value gives one error line on stderr (no traceback) and exit status 2."""
    done = subprocess.run(
        [sys.executable, "-m", "agentload.platform", *flags],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in done.stderr


def test_sigterm_exits_cleanly_and_key_is_never_logged() -> None:
    """SIGTERM stops the platform with status 0; debug logs never contain the system key."""
    secret = "s3cr3t-platform-key"
    proc = start_platform("--log-level", "debug", "--fixed-latency-ms", "0", system_key=secret)
    try:
        proc.set_faults(latency_scale=2)
        assert proc.request("GET", "/_admin/faults", headers={"X-Internal-System-Key": "bad"}).status == 401
    finally:
        assert proc.stop() == 0
    assert secret not in proc.stderr_text()


# --- fuzz ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[PlatformProcess]:
    """A zero-latency platform for the fuzz test."""
    with start_platform("--fixed-latency-ms", "0") as proc:
        yield proc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
messages = st.one_of(
    json_values,
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "role": st.sampled_from(["user", "assistant", "system"]) | json_values,
                "content": st.text(max_size=60) | json_values,
            },
        ),
        max_size=3,
    ),
)
bodies = st.one_of(
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries(
        {},
        optional={
            "messages": messages,
            "userLocation": json_values,
            "stream": json_values,
            "executionId": json_values,
            "stepIndex": json_values,
            "async": json_values,
        },
    ).map(lambda v: json.dumps(v).encode()),
)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)
headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Test-User-Id": header_text,
        "X-Clerk-Id": header_text,
        "X-Internal-System-Key": header_text,
        "Accept": st.sampled_from(["text/event-stream", "application/json", "*/*"]),
        "X-Stream-Format": st.sampled_from(["ai-sdk", "openai", "weird"]),
    },
)
paths = st.sampled_from(
    [
        "/api/intent",
        "/api/chat",
        "/api/webhooks/execute-step",
        "/api/health",
        "/_admin/faults",
        "/api/unknown",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=paths, method=st.sampled_from(["POST", "POST", "GET"]), body=bodies, extra=headers)
def test_fuzzed_requests_never_get_5xx(
    fuzz_target: PlatformProcess, path: str, method: str, body: bytes, extra: dict[str, str]
) -> None:
    """Random bodies and headers never produce a 5xx, and the server keeps answering."""
    reply = fuzz_target.request(method, path, body if method == "POST" else None, extra)
    assert reply.status < 500, reply.body[:300]
    assert fuzz_target.request("GET", "/api/health").status == 200
