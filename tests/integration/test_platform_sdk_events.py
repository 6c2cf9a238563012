"""Every event the reference platform streams, checked by the SDK whose format it imitates.

A byte-exact reference platform is what makes its TTFT tests mean something for real producers, so
each event it emits in the `openai`, `openai-responses` and `anthropic` formats is validated with
the official Python SDK's own event model (`ChatCompletionChunk`, `ResponseStreamEvent`,
`RawMessageStreamEvent`), in pydantic's strict mode, and may carry no field the model does not know;
its AI SDK streams go through the AI SDK's own parsers (`tests/producers/check.mjs`).
"""

from __future__ import annotations

import json
import subprocess
import typing
from collections.abc import Iterator
from typing import Any

import anthropic.types
import openai.types.chat
import openai.types.responses
import pytest
from pydantic import BaseModel

from agentload.platform.process import USER_HEADERS, PlatformProcess, start_platform
from agentload.traffic.streams import SseParser, StreamDecoder, StreamTiming

from sdk_producers import PRODUCERS, require_producers

TOKENS = 6
SKIPPED = {"anthropic": {"ping": {"type": "ping"}}}
"""Events the SDK's own stream reader skips before it builds a model (Anthropic's keep-alive ping)."""


def models_by_type(union: Any) -> dict[str, type[BaseModel]]:
    """The SDK's event union as {type literal: model}, so each event is checked against its own model."""
    members = typing.get_args(union)
    if typing.get_origin(union) is typing.Annotated:
        members = typing.get_args(members[0])
    kinds = [(model, typing.get_args(model.model_fields["type"].annotation)) for model in members]
    return {kind: model for model, literals in kinds for kind in literals}


MODELS = {
    "openai-responses": models_by_type(openai.types.responses.ResponseStreamEvent),
    "anthropic": models_by_type(anthropic.types.RawMessageStreamEvent),
}


def validate(stream_format: str, data: str) -> BaseModel | None:
    """The SDK's model of one event, strictly validated (None for an event the SDK skips)."""
    if stream_format == "openai":
        return openai.types.chat.ChatCompletionChunk.model_validate_json(data, strict=True)
    kind = json.loads(data)["type"]
    if kind in SKIPPED.get(stream_format, {}):
        assert json.loads(data) == SKIPPED[stream_format][kind]
        return None
    assert kind in MODELS[stream_format], f"{kind!r} is no {stream_format} event the SDK knows"
    return MODELS[stream_format][kind].model_validate_json(data, strict=True)


@pytest.fixture(scope="module")
def platform() -> Iterator[PlatformProcess]:
    """A platform with a short fixed answer."""
    with start_platform("--fixed-ttft-ms", "5", "--fixed-itl-ms", "1", "--fixed-tokens", str(TOKENS)) as proc:
        yield proc


def streamed(platform: PlatformProcess, stream_format: str) -> tuple[dict[str, str], bytes]:
    """Headers (lower-case names) and whole body of one streamed chat answer in `stream_format`."""
    body = {"messages": [{"role": "user", "content": "book a table"}], "stream": True}
    reply = platform.request("POST", "/api/chat", body, {**USER_HEADERS, "X-Stream-Format": stream_format})
    assert reply.status == 200, reply.body[:300]
    return {k.lower(): v for k, v in reply.headers.items()}, reply.body


def unknown_fields(model: Any, where: str = "event") -> list[str]:
    """Paths of fields the SDK model kept as extras (fields it does not define), recursively."""
    if isinstance(model, list):
        return [p for i, item in enumerate(model) for p in unknown_fields(item, f"{where}[{i}]")]
    if not isinstance(model, BaseModel):
        return []
    found = [f"{where}.{name}" for name in (model.model_extra or {})]
    for name in type(model).model_fields:
        found += unknown_fields(getattr(model, name), f"{where}.{name}")
    return found


@pytest.mark.parametrize("stream_format", ["openai", "openai-responses", "anthropic"])
def test_every_event_validates_with_the_official_sdk(platform, stream_format) -> None:
    """Each event parses strictly with the SDK's own model, with no unknown field and a matching name."""
    headers, raw = streamed(platform, stream_format)
    assert headers["content-type"].startswith("text/event-stream")
    events = list(SseParser().feed(raw))
    payloads = [(name, data) for name, data in events if data != "[DONE]"]
    assert len(payloads) >= TOKENS
    for name, data in payloads:
        event = validate(stream_format, data)
        assert unknown_fields(event) == [], data
        if stream_format != "openai":  # named events: the SSE name is the event's type
            assert name == json.loads(data)["type"], data
    if stream_format == "openai":
        assert events[-1][1] == "[DONE]"


@pytest.mark.parametrize("stream_format", ["openai", "openai-responses", "anthropic"])
def test_the_suite_reads_what_the_sdk_validated(platform, stream_format) -> None:
    """The same bytes decode to every token, the end and the usage, with the format found from the body."""
    headers, raw = streamed(platform, stream_format)
    decoder, timing = StreamDecoder(headers), StreamTiming(started_at=0.0)
    for chunk in [*decoder.feed(raw), *decoder.end()]:
        timing.on_chunk(chunk, 1.0)
    assert decoder.format == stream_format
    assert timing.failure is None and timing.content_events == TOKENS and timing.output_tokens == TOKENS


@pytest.mark.parametrize(
    ("stream_format", "kind", "token_part", "end_part"),
    [("ai-sdk", "ui", "text-delta", "finish"), ("ai-sdk-data", "data", "text", "finish_message")],
)
def test_ai_sdk_streams_parse_with_the_ai_sdk(platform, stream_format, kind, token_part, end_part) -> None:
    """The AI SDK's own parsers accept every part of the platform's UI message and v4 data streams."""
    require_producers()
    _, raw = streamed(platform, stream_format)
    done = subprocess.run(
        ["node", "check.mjs", kind], input=raw, capture_output=True, cwd=PRODUCERS, timeout=30, check=True
    )
    parsed = json.loads(done.stdout)
    assert parsed["errors"] == []
    assert parsed["types"].count(token_part) == TOKENS and parsed["types"][-1] == end_part
