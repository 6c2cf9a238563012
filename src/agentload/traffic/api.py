"""The platform's API as the users call it: build a request, send it, classify it, report it.

Each call produces one `Sample` and reports it once, through Locust's own request event (so
Locust's stats, failures table and web UI see it) with the sample in the event's context (so the
plugin records it exactly). A whole-request deadline per endpoint (10 s by default) turns a
stalled response into a named `timeout` instead of a hung user.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gevent
from geventhttpclient.response import HTTPConnectionClosed

from agentload.platform.tools import TOOLS
from agentload.recording.samples import Sample
from agentload.settings import Settings
from agentload.traffic.classify import (
    ERROR,
    OK,
    Outcome,
    classify_body,
    classify_status,
    failure_name,
    root_cause,
)
from agentload.traffic.endpoints import CHAT, HEALTH, INTENT, STEP, Endpoint
from agentload.traffic.iteration import scheduled_start
from agentload.traffic.keepalive import ready_at
from agentload.traffic.kernel_time import last_arrival, receive, stamped_reads
from agentload.traffic.server_timing import server_timing_of
from agentload.traffic.stream_request import Route, route_of
from agentload.traffic.streams import DATA_STREAM_HEADER, UI_STREAM_HEADER, StreamDecoder, StreamTiming


class RequestFailure(Exception):
    """The exception Locust shows in its failures table; its repr is just the failure name."""

    def __repr__(self) -> str:
        return str(self.args[0])


@dataclass(slots=True)
class Call:
    """One request to send, built per request (slotted: a frozen dataclass costs a setattr per field)."""

    endpoint: Endpoint
    body: Any
    headers: dict[str, str]
    stream: bool = False
    labels: dict[str, str] | None = None
    """Bounded labels for the sample (a session's `turn`)."""
    answer: bytes = b""
    """The response body, once read (not for streams)."""


class AgentApi:
    """One user's view of the platform: headers from settings, a fresh trace id per request.

    `call` sends any `Endpoint`; `health`, `intent`, `step` and `chat` build the platform's own
    payloads. In an arrival-rate iteration the latency from the scheduled start is recorded too.
    """

    def __init__(self, client: Any, settings: Settings, rng: random.Random | None = None) -> None:
        self.client = client
        self.settings = settings
        self.rng = rng or random.Random()
        self._step_index = 0
        self._socket_timeout_s = max(settings.timeouts_s.values())
        self._routes: dict[str, Route] = {}

    def call(
        self, endpoint: Endpoint, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> Sample:
        """Send `endpoint` with a trace id, its credentials and `headers`; judge it, record it once."""
        sent = self._headers(endpoint.auth)
        if headers:
            sent.update(headers)
        return self.send(Call(endpoint, json, sent, endpoint.streams))

    def health(self) -> Sample:
        return self.call(HEALTH)

    def intent(self, text: str) -> Sample:
        body = {"messages": [{"role": "user", "content": text}], "userLocation": self._location()}
        return self.call(INTENT, body)

    def intents(self, text: str) -> tuple[Sample, list[Any]]:
        """Classify `text` and return the intents the platform found ([] when the request failed)."""
        body = {"messages": [{"role": "user", "content": text}], "userLocation": self._location()}
        call = Call(INTENT, body, self._headers(INTENT.auth))
        sample = self.send(call)
        if sample.outcome != OK:
            return sample, []
        found = json.loads(call.answer).get("intents")
        return sample, found if isinstance(found, list) else []

    def step(self) -> Sample:
        self._step_index += 1
        body = {
            "executionId": f"exec-{self._random_id()}",
            "stepIndex": self._step_index,
            "tool": self.rng.choice(TOOLS),
            "input": {"query": "agentload synthetic step"},
        }
        return self.call(STEP, body)

    def chat(
        self,
        text: str,
        stream: bool = True,
        history: Sequence[Mapping[str, str]] = (),
        labels: dict[str, str] | None = None,
    ) -> Sample:
        """Ask `text` after the conversation's `history` (earlier user and assistant messages)."""
        body = {
            "messages": [*history, {"role": "user", "content": text}],
            "userLocation": self._location(),
            "stream": stream,
        }
        headers = self._headers(CHAT.auth)
        if stream:
            headers["Accept"] = "text/event-stream"
        return self.send(Call(CHAT, body, headers, stream, labels))

    def _headers(self, auth: str = "") -> dict[str, str]:
        headers = {"X-Trace-Id": self._random_id()}
        if auth == "user":
            headers["X-Test-User-Id"] = self.settings.test_user_id
            headers["X-Clerk-Id"] = self.settings.clerk_id
        elif auth == "internal":
            headers["X-Internal-System-Key"] = str(self.settings.internal_key)
        return headers

    def _random_id(self) -> str:
        """128 random bits as 32 hex digits (`randbytes(16).hex()` is about twice as fast as formatting)."""
        return self.rng.randbytes(16).hex()

    def _location(self) -> dict[str, float]:
        return {"lat": round(self.rng.uniform(-60, 60), 4), "lng": round(self.rng.uniform(-180, 180), 4)}

    def send(self, call: Call) -> Sample:
        """Send `call` under its endpoint's deadline and report exactly one sample for it.

        A stream's reads keep the kernel's arrival times (`kernel_time`): a busy loop reads its
        tokens late, but times them right."""
        if not call.stream:
            return self._send(call)
        with stamped_reads():
            route = route_of(self.client, call.endpoint.path, self._routes)
            return self._send(call) if route is None else self._send_stream(call, route)

    def _send_stream(self, call: Call, route: Route) -> Sample:
        """A stream sent on its direct route (`stream_request`), judged and reported once."""
        started, started_at, lag_ms = _start()
        deadline = self._deadline(call)
        response = None
        try:
            try:
                response = route.open(call.endpoint.method, call.headers, call.body)
            except Exception as exc:  # a deadline is a gevent.Timeout, a BaseException: not here
                outcome = Outcome(ERROR, failure_name(root_cause(exc)))
                sample = self._sample(call, outcome, ready_at(started), 0, lag_ms)
            else:
                sample = self._judge_stream(call, response, ready_at(started), deadline, lag_ms)
                sample.server_timing = server_timing_of(response)
            _identify(sample, call, started_at)
            self._report(call, sample, route.url, response)
            return sample
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            return self._report_timeout(call, started, started_at, lag_ms)
        finally:
            if response is not None:
                response.release()
            if deadline is not None:
                deadline.cancel()

    def _judge_stream(
        self, call: Call, response: Any, started: float, deadline: gevent.Timeout | None, lag_ms: float | None
    ) -> Sample:
        status = response.status_code
        by_status = classify_status(call.endpoint, status, response)
        if by_status is None:
            return self._read_stream(call, response, status, started, deadline, lag_ms)
        return self._sample(call, by_status, started, status, lag_ms)

    def _send(self, call: Call) -> Sample:
        started, started_at, lag_ms = _start()
        deadline = self._deadline(call)
        endpoint = call.endpoint
        try:
            response = self.client.request(
                endpoint.method,
                endpoint.path,
                name=endpoint.metric,
                headers=call.headers,
                json=call.body,
                stream=call.stream,
                catch_response=True,
                context={"agentload": None},
            )
            with response:
                sample = self._judge(call, response, ready_at(started), deadline, lag_ms)
                _identify(sample, call, started_at)
                if response.headers is not None:
                    sample.server_timing = server_timing_of(response.headers)
                response.request_meta["response_time"] = sample.latency_ms
                response.request_meta["context"]["agentload"] = sample
                if sample.outcome == OK:
                    response.success()
                else:
                    response.failure(RequestFailure(sample.failure))
            return sample
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            return self._report_timeout(call, started, started_at, lag_ms)
        finally:
            if deadline is not None:
                deadline.cancel()

    def _deadline(self, call: Call) -> gevent.Timeout | None:
        """A whole-request deadline, started; None where the socket timeouts already enforce it.

        A non-streamed request is bounded by the user's socket timeouts (set to the longest
        endpoint timeout), so only streams and endpoints with a shorter timeout need a timer.
        """
        seconds = self.settings.timeout_for(call.endpoint.name, call.endpoint.timeout_s)
        if not call.stream and seconds >= self._socket_timeout_s:
            return None
        deadline = gevent.Timeout(seconds)
        deadline.start()
        return deadline

    def _judge(
        self, call: Call, response: Any, started: float, deadline: gevent.Timeout | None, lag_ms: float | None
    ) -> Sample:
        status = response.status_code or 0
        if status == 0:
            outcome = Outcome(ERROR, failure_name(root_cause(response.error)))
            return self._sample(call, outcome, started, status, lag_ms)
        headers = {} if response.headers is None else response.headers
        by_status = classify_status(call.endpoint, status, headers)
        if call.stream and by_status is None:
            return self._read_stream(call, response._response, status, started, deadline, lag_ms)
        try:
            body = response.content or b""
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            return self._sample(call, Outcome(ERROR, "timeout"), started, status, lag_ms)
        except Exception as exc:
            return self._sample(call, Outcome(ERROR, failure_name(root_cause(exc))), started, status, lag_ms)
        call.answer = body
        sent = call.body if isinstance(call.body, dict) else {}  # a JSON body that is an object
        outcome = by_status or classify_body(call.endpoint, status, body, sent)
        return self._sample(call, outcome, started, status, lag_ms)

    def _read_stream(
        self,
        call: Call,
        stream: Any,
        status: int,
        started: float,
        deadline: gevent.Timeout | None,
        lag_ms: float | None,
    ) -> Sample:
        decoder = StreamDecoder(stream_headers(stream), self.settings.stream_format)
        timing, broken = read_events(stream, decoder, started, deadline)
        ended = time.perf_counter() if timing.done_at is None else timing.done_at
        failure = broken or timing.failure
        return Sample(
            metric=call.endpoint.metric,
            latency_ms=(ended - started) * 1000,
            outcome=ERROR if failure else OK,
            failure=failure,
            status=status,
            ttft_ms=timing.ttft_ms,
            inter_token_ms=tuple(timing.gaps_ms),
            output_tokens=timing.output_tokens,
            tokens_per_second=timing.tokens_per_second(ended),
            schedule_lag_ms=lag_ms,
            stream_format=decoder.format,
        )

    def _sample(
        self, call: Call, outcome: Outcome, started: float, status: int, lag_ms: float | None
    ) -> Sample:
        latency = (time.perf_counter() - started) * 1000
        return Sample(
            call.endpoint.metric,
            latency,
            outcome.kind,
            outcome.failure,
            status,
            schedule_lag_ms=lag_ms,
        )

    def _report_timeout(self, call: Call, started: float, started_at: float, lag_ms: float | None) -> Sample:
        sample = self._sample(call, Outcome(ERROR, "timeout"), started, 0, lag_ms)
        _identify(sample, call, started_at)
        self._report(call, sample, call.endpoint.path, None)
        return sample

    def _report(self, call: Call, sample: Sample, url: str, response: Any) -> None:
        """Locust's request event for a sample its session did not report (what the wrapper fires)."""
        user = getattr(self.client, "user", None)
        context = {**user.context(), "agentload": sample} if user is not None else {"agentload": sample}
        self.client.request_event.fire(
            request_type=call.endpoint.method,
            name=call.endpoint.metric,
            response_time=sample.latency_ms,
            response_length=0,
            exception=None if sample.outcome == OK else RequestFailure(sample.failure),
            context=context,
            start_time=sample.started_at,
            url=url,
            response=response,
        )


def _start() -> tuple[float, float, float | None]:
    """A request's start on both clocks, and how late it began against its schedule (open model)."""
    started = time.perf_counter()
    scheduled_at = scheduled_start()
    lag_ms = None if scheduled_at is None else max(0.0, (started - scheduled_at) * 1000)
    return started, time.time(), lag_ms


def _identify(sample: Sample, call: Call, started_at: float) -> None:
    """What names a sample beyond its timing: its trace id, wall-clock start and labels."""
    sample.trace_id, sample.started_at = call.headers.get("X-Trace-Id"), started_at
    sample.labels = call.labels


def stream_headers(stream: Any) -> dict[str, str]:
    """The headers that choose a stream's format, with lower-case names."""
    names = ("content-type", UI_STREAM_HEADER, DATA_STREAM_HEADER)
    return {name: str(stream.get(name) or "") for name in names}


def read_events(
    stream: Any, decoder: StreamDecoder, started: float, deadline: gevent.Timeout | None
) -> tuple[StreamTiming, str | None]:
    """Decode the body as it arrives; returns the timing and a failure name if the read broke."""
    timing = StreamTiming(started_at=started)
    try:
        while not timing.done:
            data = read_available(stream)
            arrived = last_arrival()
            for chunk in decoder.feed(data) if data else decoder.end():
                timing.on_chunk(chunk, arrived)
            if not data:
                break
    except gevent.Timeout as exc:
        if exc is not deadline:
            raise
        return _abandon(stream, timing, "timeout")
    except Exception as exc:
        return _abandon(stream, timing, _stream_failure(exc))
    if timing.done:
        _drain(stream)
    return timing, None


def read_available(stream: Any) -> bytes:
    """Whatever body bytes have arrived, waiting only for the first; b"" at the end of the body.

    geventhttpclient's `read(n)` waits for n bytes and `readline` for a newline, but a plain-text
    chunk has no newline and no known size: TTFT is when its first bytes arrive. So this takes one
    `recv` at a time through the response's parser (which strips the chunked framing) and hands
    over the parsed body. A connection closed before the body's end (an unterminated chunked body)
    raises, as geventhttpclient's own readers do.
    """
    buffer = stream._body_buffer
    while not buffer and not stream.message_complete:
        sock = stream._sock
        if sock is None:
            raise HTTPConnectionClosed("connection closed before the end of the body")
        try:
            data = receive(sock, stream.block_size)
            stream.feed(data)
        except BaseException:
            stream.release()
            raise
        if not data and not stream.message_complete:
            stream.release()
            raise HTTPConnectionClosed("connection closed before the end of the body")
    data = bytes(buffer)
    del buffer[:]
    return data


def _stream_failure(exc: BaseException) -> str:
    name = failure_name(root_cause(exc))
    return "truncated stream" if name in ("connection reset", "invalid response") else name


def _abandon(stream: Any, timing: StreamTiming, failure: str) -> tuple[StreamTiming, str]:
    """Close a half-read response so its connection is never reused."""
    stream.release()
    return timing, failure


def _drain(stream: Any) -> None:
    """Consume the bytes after the end event (the chunked terminator) so the connection can be reused."""
    while read_available(stream):
        pass
