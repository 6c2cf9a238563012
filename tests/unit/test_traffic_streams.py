"""Chat stream decoding: every format in any split, format choice, end, usage and error events."""

from __future__ import annotations

import json

import pytest

from agentload.platform.streaming import ENCODERS, usage
from agentload.traffic.streams import (
    AI_SDK,
    AI_SDK_DATA,
    ANTHROPIC,
    FORMATS,
    OPENAI,
    RESPONSES,
    TEXT,
    StreamDecoder,
    StreamTiming,
    _json_object,
    format_from_event,
    interpret_ai_sdk,
    interpret_anthropic,
    interpret_data_part,
    interpret_openai,
    interpret_responses,
)

TOKENS = ["Hel", "lo ", "wörld ", "✓"]


def encoded(stream_format: str, tokens: list[str] = TOKENS, complete: bool = True) -> tuple[bytes, dict]:
    """The reference platform's bytes and headers for `tokens` in `stream_format`."""
    encoder = ENCODERS[stream_format]()
    body = encoder.first(tokens[0]) + b"".join(encoder.token(t) for t in tokens[1:])
    if complete:
        body += encoder.end(usage(3, 42))
    headers = {"content-type": encoder.content_type, **{k.lower(): v for k, v in encoder.headers.items()}}
    return body, headers


def decode(raw: bytes, headers: dict, split: int | list[int], forced: str | None = None) -> StreamTiming:
    """Feed `raw` in reads of `split` bytes (or at the given offsets), one clock tick per read."""
    decoder, timing = StreamDecoder(headers, forced), StreamTiming(started_at=0.0)
    cuts = split if isinstance(split, list) else list(range(split, len(raw), split))
    clock = 0.0
    for start, stop in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        clock += 0.01
        for chunk in decoder.feed(raw[start:stop]):
            timing.on_chunk(chunk, clock)
    for chunk in decoder.end():
        timing.on_chunk(chunk, clock)
    timing.format = decoder.format  # type: ignore[attr-defined]
    return timing


@pytest.mark.parametrize("stream_format", FORMATS)
def test_every_format_decodes_at_every_split_offset(stream_format) -> None:
    """Any single split point in the body, even inside a UTF-8 character, gives the same answer."""
    raw, headers = encoded(stream_format)
    for offset in range(1, len(raw)):
        timing = decode(raw, headers, [offset])
        assert timing.failure is None, (offset, timing.failure)
        assert timing.format == stream_format
        text_ok = stream_format == TEXT or timing.content_events == len(TOKENS)
        assert text_ok, (offset, timing.content_events)


@pytest.mark.parametrize("stream_format", FORMATS)
def test_every_format_decodes_byte_by_byte(stream_format) -> None:
    """One byte per read: each format still finds its content, its end and its usage."""
    raw, headers = encoded(stream_format)
    timing = decode(raw, headers, 1)
    assert timing.failure is None
    expected_tokens = len(raw.decode()) if stream_format == TEXT else 42
    if stream_format == TEXT:  # one event per read that completed a character
        assert timing.content_events == expected_tokens
    else:
        assert timing.output_tokens == 42


@pytest.mark.parametrize("stream_format", sorted(set(FORMATS) - {TEXT}))
def test_format_usage_is_the_output_token_count(stream_format) -> None:
    """Each format's own usage field gives output tokens (42), not the count of content events."""
    raw, headers = encoded(stream_format)
    assert decode(raw, headers, 100_000).output_tokens == 42


def test_plain_text_counts_one_token_per_chunk_and_ends_at_the_end_of_the_body() -> None:
    """Plain text: each read with text is a token event, and only the end of the body completes it."""
    raw, headers = encoded(TEXT)
    cuts = [len("".join(TOKENS[: i + 1]).encode()) for i in range(len(TOKENS) - 1)]
    timing = decode(raw, headers, cuts)
    assert timing.content_events == len(TOKENS) and timing.done
    assert timing.gaps_ms == [pytest.approx(10.0)] * (len(TOKENS) - 1)
    decoder = StreamDecoder(headers)
    assert not any(chunk.done for chunk in decoder.feed(raw))


def test_utf8_character_split_across_reads_is_not_replaced() -> None:
    """A multi-byte character cut between two reads is decoded whole, in every framing."""
    for stream_format in FORMATS:
        raw, headers = encoded(stream_format, ["✓✓"])
        raw = raw.replace(b"\\u2713", "✓".encode())  # JSON may escape it; real producers often don't
        middle = raw.index("✓".encode()) + 1
        decoder = StreamDecoder(headers)
        chunks = [*decoder.feed(raw[:middle]), *decoder.feed(raw[middle:]), *decoder.end()]
        assert "".join(c.content for c in chunks) == "✓✓", stream_format


@pytest.mark.parametrize("stream_format", sorted(set(FORMATS) - {TEXT}))
def test_a_stream_without_its_end_is_truncated(stream_format) -> None:
    """Each format's own end event is what completes it: cut before it, the stream is truncated."""
    raw, headers = encoded(stream_format, complete=False)
    timing = decode(raw, headers, 7)
    assert timing.failure == "truncated stream"
    assert timing.ttft_ms is not None


def test_keepalive_comments_crlf_and_multiline_data() -> None:
    """Comment lines, CRLF line endings and multi-line `data:` fields are SSE, not junk."""
    raw, headers = encoded(OPENAI)
    raw = b": keep-alive\r\n\r\n" + raw.replace(b"\n", b"\r\n")
    timing = decode(raw, headers, 5)
    assert timing.content_events == len(TOKENS) and timing.done
    multiline = b'data: {"choices":\ndata: [{"delta": {"content": "x"}}]}\n\ndata: [DONE]\n\n'
    timing = decode(multiline, {"content-type": "text/event-stream"}, 3)
    assert timing.content_events == 1 and timing.done


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"content-type": "text/event-stream", "x-vercel-ai-ui-message-stream": "v1"}, AI_SDK),
        ({"content-type": "text/plain; charset=utf-8", "x-vercel-ai-data-stream": "v1"}, AI_SDK_DATA),
        ({"content-type": "text/plain; charset=utf-8"}, TEXT),
        ({"content-type": "text/event-stream"}, None),
        ({}, None),
    ],
)
def test_headers_choose_the_format(headers, expected) -> None:
    """Content-Type and the AI SDK marker headers decide before any byte of the body."""
    assert StreamDecoder(headers).format == expected


@pytest.mark.parametrize("stream_format", [OPENAI, AI_SDK, RESPONSES, ANTHROPIC])
def test_the_first_event_chooses_an_sse_format(stream_format) -> None:
    """Without a marker header, the first SSE event tells the formats apart."""
    raw, _ = encoded(stream_format)
    timing = decode(raw, {"content-type": "text/event-stream"}, 100_000)
    assert timing.format == stream_format and timing.failure is None


@pytest.mark.parametrize("stream_format", [OPENAI, AI_SDK_DATA, TEXT])
def test_a_body_without_content_type_is_sniffed(stream_format) -> None:
    """No Content-Type: the first bytes tell SSE, a v4 data stream and plain text apart."""
    raw, _ = encoded(stream_format)
    timing = decode(raw, {}, 2)
    assert timing.format == stream_format and timing.failure is None


def test_forced_format_wins_over_the_headers() -> None:
    """`--stream-format text` reads even an SSE body as plain text."""
    raw, headers = encoded(OPENAI)
    timing = decode(raw, headers, 100_000, forced=TEXT)
    assert timing.format == TEXT and timing.done and timing.usage_tokens is None


@pytest.mark.parametrize(
    ("interpret", "event", "message"),
    [
        (interpret_openai, {"error": {"message": "rate limited", "type": "server_error"}}, "rate limited"),
        (interpret_ai_sdk, {"type": "error", "errorText": "model overloaded"}, "model overloaded"),
        (interpret_responses, {"type": "error", "code": "x", "message": "bad", "sequence_number": 3}, "bad"),
        (
            interpret_responses,
            {"type": "response.failed", "response": {"error": {"code": "server_error", "message": "boom"}}},
            "boom",
        ),
        (
            interpret_anthropic,
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            "Overloaded",
        ),
    ],
)
def test_each_formats_error_event_is_named(interpret, event, message) -> None:
    """A producer's error event becomes `stream error: <its message>`."""
    timing = StreamTiming(started_at=0.0)
    timing.on_chunk(interpret(json.dumps(event)), 0.1)
    assert timing.failure == f"stream error: {message}"


def test_data_stream_error_part_is_named() -> None:
    """The v4 data stream's `3:` part is the producer's error, and wins over a later finish."""
    timing = decode(b'0:"a"\n3:"An error occurred."\nd:{"finishReason":"error"}\n', {}, 4)
    assert timing.failure == "stream error: An error occurred."


def test_error_as_first_event_picks_its_format() -> None:
    """An SSE stream that opens with an error is still attributed to the right producer."""
    assert format_from_event('{"type": "error", "errorText": "x"}') == AI_SDK
    assert format_from_event('{"type": "error", "error": {"message": "x"}}') == ANTHROPIC
    assert format_from_event('{"type": "error", "message": "x", "code": null}') == RESPONSES


def test_ttft_is_measured_at_the_first_content_event() -> None:
    """TTFT counts from the start to the first event carrying content, not to a role-only event."""
    timing = StreamTiming(started_at=1.0)
    timing.on_chunk(interpret_openai(json.dumps({"choices": [{"delta": {"role": "assistant"}}]})), 1.1)
    timing.on_chunk(interpret_openai(json.dumps({"choices": [{"delta": {"content": "Hi"}}]})), 1.25)
    timing.on_chunk(interpret_openai(json.dumps({"choices": [{"delta": {"content": "!"}}]})), 1.3)
    assert timing.ttft_ms == pytest.approx(250.0)
    assert timing.gaps_ms == [pytest.approx(50.0)]


@pytest.mark.parametrize(
    ("interpret", "data"),
    [
        (interpret_openai, "not json"),
        (interpret_openai, "[1, 2]"),
        (interpret_openai, '{"id": 1}'),
        (interpret_ai_sdk, '{"type": "text-delta"}'),
        (interpret_responses, '{"type": "response.output_text.delta"}'),
        (interpret_anthropic, '"just a string"'),
        (interpret_data_part, "no colon here"),
        (interpret_data_part, '0:"unterminated'),
    ],
)
def test_malformed_events_are_named(interpret, data) -> None:
    """Events that are not valid in their format are reported as malformed."""
    assert interpret(data).malformed


@pytest.mark.parametrize(
    "data",
    ['{"a": 1}', ' {"a": 1} ', '{"a": 1}\t', '{"a": 1}{"b": 2}', '{"a": 1} x', "[1]", '"s"', "NaN",
     '{"a": NaN}', "", " ", "{", '{"a": }', "nul", '{"a": "\\ud83d"}', '{"a": 1}\n'],
)
def test_the_direct_json_scan_answers_as_json_loads_does(data) -> None:
    """The decoder scans an event's JSON directly; every odd input still gets json.loads's answer."""
    try:
        expected = json.loads(data)
    except ValueError:
        expected = None
    assert _json_object(data) == (expected if isinstance(expected, dict) else None)
