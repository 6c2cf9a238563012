"""Server-Sent Events parsing and streamed-chat timing, independent of any HTTP client.

Time to first token is what chat users feel, so it is measured against the first event that
carries content, as soon as its line arrives (Locust's iter_lines reads 1 KiB chunks and can hand
the first event over late). Two wire formats are understood, because real platforms use either:
OpenAI `chat.completion.chunk` events (`choices[0].delta.content`, a final `usage`) and the Vercel
AI SDK UI-message stream (`{"type": "text-delta", "delta": ...}`). Both end with `data: [DONE]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field


class SseParser:
    """Incremental SSE decoder: feed bytes in any split, get the `data` payload of each event."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> Iterator[str]:
        self._buffer += chunk
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                return
            line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            event = self._line(line.rstrip(b"\r").decode("utf-8", errors="replace"))
            if event is not None:
                yield event

    def _line(self, line: str) -> str | None:
        if not line:  # a blank line dispatches the event
            data, self._data = self._data, []
            return "\n".join(data) if data else None
        if line.startswith(":"):  # comment: keep-alive
            return None
        name, _, value = line.partition(":")
        if name == "data":
            self._data.append(value[1:] if value.startswith(" ") else value)
        return None


@dataclass(frozen=True)
class Chunk:
    """What one event means for the chat: some content, a token usage report, the end, or junk."""

    content: str = ""
    usage_tokens: int | None = None
    done: bool = False
    malformed: str | None = None


def interpret(data: str) -> Chunk:
    """Read one event payload in either the OpenAI or the Vercel AI SDK format."""
    if data.strip() == "[DONE]":
        return Chunk(done=True)
    try:
        event = json.loads(data)
    except ValueError:
        return Chunk(malformed="event is not JSON")
    if not isinstance(event, dict):
        return Chunk(malformed="event is not an object")
    if event.get("type") == "text-delta":
        delta = event.get("delta")
        return Chunk(content=delta) if isinstance(delta, str) else Chunk(malformed="text-delta without delta")
    if event.get("type") == "error":
        return Chunk(malformed=f"error event: {str(event.get('errorText', ''))[:60]}")
    if "type" in event:
        return Chunk(usage_tokens=_usage_tokens(event.get("messageMetadata")))
    return _interpret_openai(event)


def _interpret_openai(event: dict) -> Chunk:
    choices = event.get("choices")
    if not isinstance(choices, list):
        return Chunk(malformed="chunk without choices")
    content = ""
    if choices and isinstance(choices[0], dict):
        delta = choices[0].get("delta") or {}
        content = delta.get("content") or "" if isinstance(delta, dict) else ""
    return Chunk(content=content if isinstance(content, str) else "", usage_tokens=_usage_tokens(event))


def _usage_tokens(holder: object) -> int | None:
    usage = holder.get("usage") if isinstance(holder, dict) else None
    tokens = usage.get("completion_tokens", usage.get("outputTokens")) if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) and tokens >= 0 else None


@dataclass
class StreamTiming:
    """Timing of one streamed answer, fed with (event payload, arrival time) pairs."""

    started_at: float
    first_token_at: float | None = None
    last_token_at: float | None = None
    gaps_ms: list[float] = field(default_factory=list)
    content_events: int = 0
    usage_tokens: int | None = None
    done: bool = False
    malformed: str | None = None

    def on_event(self, data: str, at: float) -> None:
        chunk = interpret(data)
        if chunk.malformed and self.malformed is None:
            self.malformed = chunk.malformed
        if chunk.usage_tokens is not None:
            self.usage_tokens = chunk.usage_tokens
        self.done = self.done or chunk.done
        if chunk.content:
            if self.last_token_at is None:
                self.first_token_at = at
            else:
                self.gaps_ms.append((at - self.last_token_at) * 1000)
            self.last_token_at = at
            self.content_events += 1

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
