"""Decoding of streamed chat answers in the wire formats real producers send, apart from any HTTP client.

Time to first token is only right if the suite understands the stream the platform really sends: a
decoder that expects SSE reads an AI SDK text stream as one long truncated event. So the format is
chosen per response, from `Content-Type` and the AI SDK's marker headers, then from the first event
(or forced), and each format brings its own content events, end event, output-token usage and
error events:

| format             | framing              | content                         | end                  |
|--------------------|----------------------|---------------------------------|----------------------|
| `openai`           | SSE                  | `choices[0].delta.content`      | `data: [DONE]`       |
| `ai-sdk`           | SSE (UI message, v5+)| `text-delta`                    | `finish` / `[DONE]`  |
| `ai-sdk-data`      | lines (v4 data)      | `0:"text"`                      | `d:{...}`            |
| `text`             | raw bytes            | every chunk with text           | end of the body      |
| `openai-responses` | SSE                  | `response.output_text.delta`    | `response.completed` |
| `anthropic`        | SSE                  | `content_block_delta/text_delta`| `message_stop`       |

Everything here is pure: bytes in any split go in, `Chunk`s come out, and `StreamTiming` turns
(chunk, arrival time) pairs into TTFT, inter-token gaps, tokens and a failure name.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

OPENAI, AI_SDK, AI_SDK_DATA, TEXT, RESPONSES, ANTHROPIC = (
    "openai",
    "ai-sdk",
    "ai-sdk-data",
    "text",
    "openai-responses",
    "anthropic",
)
FORMATS = (OPENAI, AI_SDK, AI_SDK_DATA, TEXT, RESPONSES, ANTHROPIC)
"""Every format the decoder understands, by the name `--stream-format` and the reports use."""

UI_STREAM_HEADER = "x-vercel-ai-ui-message-stream"
DATA_STREAM_HEADER = "x-vercel-ai-data-stream"
_SSE_START = re.compile(rb"^(data|event|id|retry)?:")
_DATA_PART = re.compile(rb"^[0-9a-z]:")
_ANTHROPIC_TYPES = frozenset(
    {"message_start", "content_block_start", "content_block_delta", "content_block_stop", "ping"}
    | {"message_delta", "message_stop"}
)
MESSAGE_LIMIT = 80  # characters of a producer's error message kept in a failure name


@dataclass(slots=True)
class Chunk:
    """What one event means for the chat: content, a usage report, the end, an error, or junk.

    Made for every event of every stream, so slotted and not frozen (a frozen dataclass pays an
    `object.__setattr__` call per field); nothing changes a chunk once made."""

    content: str = ""
    usage_tokens: int | None = None
    done: bool = False
    error: str | None = None
    malformed: str | None = None


class SseParser:
    """Incremental SSE framing: feed bytes in any split, get (event name, data) per dispatched event."""

    def __init__(self) -> None:
        self._buffer = b""
        self._name = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[tuple[str, str]]:
        """The events `chunk` completes. Its complete lines are decoded in one go (a newline is never
        part of a UTF-8 sequence, so this equals decoding line by line)."""
        buffer = self._buffer + chunk if self._buffer else chunk
        end = buffer.rfind(b"\n")
        if end < 0:
            self._buffer = buffer
            return []
        self._buffer = buffer[end + 1 :]
        events = []
        for line in buffer[:end].decode("utf-8", errors="replace").split("\n"):
            event = self._line(line.rstrip("\r"))
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> tuple[str, str] | None:
        if not line:  # a blank line dispatches the event
            name, data, self._name, self._data = self._name, self._data, "", []
            return (name or "message", "\n".join(data)) if data else None
        if line.startswith(":"):  # comment: keep-alive
            return None
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "data":
            self._data.append(value)
        elif key == "event":
            self._name = value
        return None


class LineSplitter:
    """Incremental newline framing (the AI SDK v4 data stream): complete lines, decoded."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> Iterator[str]:
        self._buffer += chunk
        while (newline := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            if line.strip():
                yield line.rstrip(b"\r").decode("utf-8", errors="replace")

    def rest(self) -> Iterator[str]:
        """The last line when the body ended without a newline."""
        line, self._buffer = self._buffer, b""
        if line.strip():
            yield line.decode("utf-8", errors="replace")


# --- choosing the format -------------------------------------------------------------------------


def format_from_headers(headers: Mapping[str, str]) -> str | None:
    """The format the response declares (lower-case header names), or None to look at the events."""
    if headers.get(UI_STREAM_HEADER):
        return AI_SDK
    if headers.get(DATA_STREAM_HEADER):
        return AI_SDK_DATA
    if headers.get("content-type", "").lower().startswith("text/plain"):
        return TEXT
    return None


def framing_from_bytes(start: bytes) -> str:
    """`sse`, `lines` or `text` for a body whose Content-Type says nothing, from its first bytes."""
    if _SSE_START.match(start):
        return "sse"
    return "lines" if _DATA_PART.match(start) else "text"


def format_from_event(data: str) -> str:
    """The SSE format a first event belongs to, from its JSON shape."""
    event = _json_object(data)
    kind = event.get("type") if event else None
    if not isinstance(kind, str):
        return OPENAI  # chat.completion.chunk has no type; neither has [DONE]
    if kind.startswith("response.") or (kind == "error" and "message" in event):
        return RESPONSES
    if kind in _ANTHROPIC_TYPES or (kind == "error" and isinstance(event.get("error"), dict)):
        return ANTHROPIC
    return AI_SDK


# --- one interpreter per format ------------------------------------------------------------------


_scan_json = json.JSONDecoder().scan_once


def _json_object(data: str) -> dict | None:
    """`json.loads(data)` if it is an object, else None. One value filling the whole string, as
    producers send it, is scanned directly: a third of the cost of `json.loads`'s wrappers."""
    try:
        event, end = _scan_json(data, 0)
    except (StopIteration, ValueError):
        end = -1
    if end != len(data):  # surrounding whitespace, more than one value, or not JSON
        try:
            event = json.loads(data)
        except ValueError:
            return None
    return event if isinstance(event, dict) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _get(holder: object, *path: str) -> object:
    for key in path:
        holder = holder.get(key) if isinstance(holder, dict) else None
    return holder


def _typed(data: str) -> dict | None:
    """The event as a JSON object with a string `type`, or None."""
    event = _json_object(data)
    return event if event is not None and isinstance(event.get("type"), str) else None


NOT_TYPED = Chunk(malformed="event is not a typed JSON object")


def _typed_events(interpret: Callable[[dict, str], Chunk]) -> Callable[[str], Chunk]:
    """An interpreter of `{"type": ...}` events from one of (event, type): junk is named here, once."""

    def read(data: str) -> Chunk:
        event = _typed(data)
        return NOT_TYPED if event is None else interpret(event, event["type"])

    read.__doc__ = interpret.__doc__
    return read


def _text(value: object, part: str) -> Chunk:
    """A content chunk, or junk when the part that should carry text does not."""
    return Chunk(content=value) if isinstance(value, str) else Chunk(malformed=f"{part} without text")


def _error(message: object) -> Chunk:
    return Chunk(error=str(message if message not in (None, "") else "no message")[:MESSAGE_LIMIT])


def interpret_openai(data: str) -> Chunk:
    """OpenAI `chat.completion.chunk`: content deltas, a final `usage`, `[DONE]`, or an `error` object."""
    if data.strip() == "[DONE]":
        return Chunk(done=True)
    event = _json_object(data)
    if event is None:
        return Chunk(malformed="event is not a JSON object")
    if isinstance(event.get("error"), dict):
        return _error(event["error"].get("message"))
    choices = event.get("choices")
    if not isinstance(choices, list):
        return Chunk(malformed="chunk without choices")
    content = _get(choices[0], "delta", "content") if choices else None
    usage = event.get("usage")  # only in the last chunk, so looked at only when there
    tokens = _count(usage.get("completion_tokens")) if isinstance(usage, dict) else None
    return Chunk(content if isinstance(content, str) else "", tokens)


def interpret_ai_sdk(data: str) -> Chunk:
    """AI SDK UI message stream (v5+): `text-delta`, `error`, `finish` (usage in its metadata), `[DONE]`."""
    return Chunk(done=True) if data.strip() == "[DONE]" else _ui_message_event(data)


@_typed_events
def _ui_message_event(event: dict, kind: str) -> Chunk:
    if kind == "text-delta":
        return _text(event.get("delta"), "text-delta")
    if kind == "error":
        return _error(event.get("errorText"))
    usage = _get(event, "messageMetadata", "usage")
    tokens = _count(_get(usage, "outputTokens")) if isinstance(usage, dict) else None
    if tokens is None:
        tokens = _count(_get(usage, "completion_tokens"))
    return Chunk(usage_tokens=tokens, done=kind == "finish")


@_typed_events
def interpret_responses(event: dict, kind: str) -> Chunk:
    """OpenAI Responses API: `response.output_text.delta`, `response.completed`, `error`, failures."""
    if kind == "response.output_text.delta":
        return _text(event.get("delta"), kind)
    if kind == "error":
        return _error(event.get("message"))
    if kind == "response.failed":
        return _error(_get(event, "response", "error", "message"))
    if kind in ("response.completed", "response.incomplete"):
        return Chunk(usage_tokens=_count(_get(event, "response", "usage", "output_tokens")), done=True)
    return Chunk()


@_typed_events
def interpret_anthropic(event: dict, kind: str) -> Chunk:
    """Anthropic Messages: `text_delta` blocks, `message_delta` usage, `message_stop`, `error`."""
    if kind == "content_block_delta":
        text = _get(event, "delta", "text") if _get(event, "delta", "type") == "text_delta" else ""
        return Chunk(content=text if isinstance(text, str) else "")
    if kind == "message_delta":
        return Chunk(usage_tokens=_count(_get(event, "usage", "output_tokens")))
    if kind == "error":
        return _error(_get(event, "error", "message"))
    return Chunk(done=kind == "message_stop")


def interpret_data_part(line: str) -> Chunk:
    """AI SDK v4 data stream line `CODE:JSON`: `0:` text, `3:` error, `e:`/`d:` finish parts."""
    code, colon, payload = line.partition(":")
    try:
        value = json.loads(payload) if colon else None
    except ValueError:
        value = None
    if not colon or len(code) != 1 or value is None:
        return Chunk(malformed=f"data stream line is not CODE:JSON ({line[:30]!r})")
    if code == "0":
        return _text(value, "text part")
    if code == "3":
        return _error(value)
    if code in ("e", "d"):
        return Chunk(usage_tokens=_count(_get(value, "usage", "completionTokens")), done=code == "d")
    return Chunk()


SSE_INTERPRETERS: dict[str, Callable[[str], Chunk]] = {
    OPENAI: interpret_openai,
    AI_SDK: interpret_ai_sdk,
    RESPONSES: interpret_responses,
    ANTHROPIC: interpret_anthropic,
}


class StreamDecoder:
    """One response body, bytes in any split, to `Chunk`s in its format.

    `forced` wins; else the headers decide; else the first bytes (framing) and the first SSE event
    (which SSE format). `format` is None until it is known.
    """

    def __init__(self, headers: Mapping[str, str], forced: str | None = None) -> None:
        self.format = forced or format_from_headers(headers)
        sse = "text/event-stream" in headers.get("content-type", "").lower()
        self._framing = _framing_of(self.format) if self.format else ("sse" if sse else None)
        self._start = b""
        self._sse = SseParser()
        self._lines = LineSplitter()
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> list[Chunk]:
        if self._framing is None:  # no Content-Type to go by: sniff the first bytes
            self._start += data
            if len(self._start) < 6 and b"\n" not in self._start:
                return []
            return self._switch_to_known()
        if self._framing == "text":
            text = self._text.decode(data)
            return [Chunk(content=text)] if text else []
        if self._framing == "lines":
            return [interpret_data_part(line) for line in self._lines.feed(data)]
        return [self._sse_event(data) for _, data in self._sse.feed(data)]

    def end(self) -> list[Chunk]:
        """What the end of the body means: the end itself for plain text, nothing for the others."""
        if self._framing is None and self._start:
            return [*self._switch_to_known(), *self.end()]
        if self._framing == "text":
            rest = self._text.decode(b"", final=True)
            return [Chunk(content=rest, done=True)]
        if self._framing == "lines":
            return [interpret_data_part(line) for line in self._lines.rest()]
        return []

    def _switch_to_known(self) -> list[Chunk]:
        start, self._start = self._start, b""
        self._framing = framing_from_bytes(start)
        self.format = {"lines": AI_SDK_DATA, "text": TEXT}.get(self._framing)
        return self.feed(start)

    def _sse_event(self, data: str) -> Chunk:
        if self.format is None:
            self.format = format_from_event(data)
        return SSE_INTERPRETERS[self.format](data)


def _framing_of(stream_format: str) -> str:
    return {TEXT: "text", AI_SDK_DATA: "lines"}.get(stream_format, "sse")


@dataclass
class StreamTiming:
    """Timing of one streamed answer, fed with (chunk, arrival time) pairs."""

    started_at: float
    first_token_at: float | None = None
    last_token_at: float | None = None
    done_at: float | None = None
    gaps_ms: list[float] = field(default_factory=list)
    content_events: int = 0
    usage_tokens: int | None = None
    done: bool = False
    error: str | None = None
    malformed: str | None = None

    def on_chunk(self, chunk: Chunk, at: float) -> None:
        if chunk.error is not None and self.error is None:
            self.error = chunk.error
        if chunk.malformed and self.malformed is None:
            self.malformed = chunk.malformed
        if chunk.usage_tokens is not None:
            self.usage_tokens = chunk.usage_tokens
        if chunk.done and not self.done:
            self.done, self.done_at = True, at
        if chunk.content:
            if self.last_token_at is None:
                self.first_token_at = at
            else:
                self.gaps_ms.append((at - self.last_token_at) * 1000)
            self.last_token_at = at
            self.content_events += 1

    @property
    def failure(self) -> str | None:
        """The failure name of the stream as read so far: the producer's error, junk, or no end."""
        if self.error is not None:
            return f"stream error: {self.error}"
        if self.malformed is not None:
            return f"invalid stream: {self.malformed}"
        return None if self.done else "truncated stream"

    @property
    def ttft_ms(self) -> float | None:
        return None if self.first_token_at is None else (self.first_token_at - self.started_at) * 1000

    @property
    def output_tokens(self) -> int:
        return self.usage_tokens if self.usage_tokens is not None else self.content_events

    def tokens_per_second(self, ended_at: float) -> float | None:
        """Output tokens over the generation time (first token to end), as LLM benchmarks report it."""
        if self.first_token_at is None or ended_at <= self.first_token_at:
            return None
        return self.output_tokens / (ended_at - self.first_token_at)
