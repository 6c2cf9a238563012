"""SSE parsing of both chat stream formats, split reads, keep-alives, and stream timing."""

import json

import pytest

from agentload.traffic.sse import SseParser, StreamTiming, interpret


def openai_stream(tokens: list[str], usage: int | None = None) -> bytes:
    events = [
        {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": t}}]}
        for t in tokens
    ]
    final = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    if usage is not None:
        final["usage"] = {"prompt_tokens": 3, "completion_tokens": usage, "total_tokens": usage + 3}
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in [*events, final])
    return (body + "data: [DONE]\n\n").encode()


def vercel_stream(tokens: list[str]) -> bytes:
    events = [{"type": "start"}, {"type": "text-start", "id": "t1"}]
    events += [{"type": "text-delta", "id": "t1", "delta": t} for t in tokens]
    events += [{"type": "text-end", "id": "t1"}, {"type": "finish"}]
    return ("".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n").encode()


def replay(raw: bytes, split: int) -> StreamTiming:
    parser, timing = SseParser(), StreamTiming(started_at=0.0)
    clock = 0.0
    for start in range(0, len(raw), split):
        clock += 0.01
        for data in parser.feed(raw[start : start + split]):
            timing.on_event(data, clock)
    return timing


@pytest.mark.parametrize("split", [1, 7, 64, 100_000])
@pytest.mark.parametrize("make", [openai_stream, vercel_stream])
def test_both_formats_in_any_split(make, split) -> None:
    """Both formats parse to the same tokens however the bytes are split across reads."""
    timing = replay(make(["Hel", "lo", " world"]), split)
    assert timing.done and timing.malformed is None
    assert timing.content_events == 3
    assert len(timing.gaps_ms) == 2


def test_usage_overrides_counted_events() -> None:
    """Output tokens come from `usage` when the stream reports it."""
    assert replay(openai_stream(["a", "b"], usage=42), 100_000).output_tokens == 42


def test_keepalive_comments_and_crlf_are_ignored() -> None:
    """Comment lines and CRLF line endings do not produce events."""
    raw = b": keep-alive\r\n\r\n" + openai_stream(["x"]).replace(b"\n", b"\r\n")
    timing = replay(raw, 5)
    assert timing.content_events == 1 and timing.done


def test_ttft_is_measured_at_the_first_content_event() -> None:
    """TTFT counts from the start to the first event carrying content, not to a role-only event."""
    timing = StreamTiming(started_at=1.0)
    timing.on_event(json.dumps({"choices": [{"delta": {"role": "assistant"}}]}), 1.1)
    timing.on_event(json.dumps({"choices": [{"delta": {"content": "Hi"}}]}), 1.25)
    timing.on_event(json.dumps({"choices": [{"delta": {"content": "!"}}]}), 1.3)
    assert timing.ttft_ms == pytest.approx(250.0)
    assert timing.gaps_ms == [pytest.approx(50.0)]


def test_truncated_stream_has_no_done() -> None:
    """A stream cut before [DONE] keeps its TTFT but is not done."""
    raw = openai_stream(["a", "b", "c"])
    timing = replay(raw[: raw.index(b"[DONE]")], 100_000)
    assert not timing.done and timing.ttft_ms is not None


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '{"type": "text-delta"}', '{"id": 1}'])
def test_malformed_events_are_named(data) -> None:
    """Events that are not valid chat chunks are reported as malformed."""
    assert interpret(data).malformed
