"""Server-Sent Events encodings of a chat answer: OpenAI chunks and the Vercel AI SDK UI stream.

Clients of the real platform consume chat answers as SSE in one of two wire formats, and the load
generator measures time to first token and inter-token gaps from them, so the reference platform must
emit byte-exact frames. Each format is a small class that turns the start, each token and the end of
an answer into ``data: ...\\n\\n`` frames; the handler decides when to write them. Nothing is sent
before the first token, so "first event" and "first token" coincide for both formats.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

DONE_FRAME = b"data: [DONE]\n\n"
MODEL_NAME = "agentload-reference"

_WORDS = (
    "Sure",
    "I",
    "can",
    "take",
    "care",
    "of",
    "that",
    "for",
    "you.",
    "Here",
    "is",
    "what",
    "I",
    "found",
    "about",
    "your",
    "request,",
    "and",
    "the",
    "next",
    "steps",
    "are",
    "already",
    "on",
    "their",
    "way.",
)


def frame(payload: dict[str, Any]) -> bytes:
    """One SSE event carrying ``payload`` as compact JSON."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def reply_tokens(topic: str, count: int) -> list[str]:
    """``count`` answer tokens (each a word plus a space) mentioning ``topic`` first."""
    words = [*topic.replace("_", " ").split(), *_WORDS]
    return [f"{words[i % len(words)]} " for i in range(count)]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """OpenAI-style usage block."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


class OpenAIChunks:
    """``chat.completion.chunk`` events, a final chunk with finish_reason and usage, then ``[DONE]``."""

    headers: dict[str, str] = {}

    def __init__(self) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())

    def _chunk(self, choice: dict[str, Any], **extra: Any) -> bytes:
        body = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": MODEL_NAME,
            "choices": [choice],
            **extra,
        }
        return frame(body)

    def first(self, token: str) -> bytes:
        """Frames sent at time to first token."""
        return self.token(token)

    def token(self, token: str) -> bytes:
        """Frame of one content token."""
        return self._chunk({"index": 0, "delta": {"content": token}})

    def end(self, usage_block: dict[str, int]) -> bytes:
        """Frames closing a complete answer, including ``[DONE]``."""
        final = self._chunk({"index": 0, "delta": {}, "finish_reason": "stop"}, usage=usage_block)
        return final + DONE_FRAME


class AiSdkStream:
    """Vercel AI SDK UI message stream: start, text-start, text-delta..., text-end, finish, [DONE]."""

    headers: dict[str, str] = {"x-vercel-ai-ui-message-stream": "v1"}

    def __init__(self) -> None:
        self.message_id = f"msg-{uuid.uuid4().hex[:16]}"
        self.text_id = f"txt-{uuid.uuid4().hex[:8]}"

    def first(self, token: str) -> bytes:
        """Frames sent at time to first token (the message and text starts plus the first delta)."""
        start = frame({"type": "start", "messageId": self.message_id})
        return start + frame({"type": "text-start", "id": self.text_id}) + self.token(token)

    def token(self, token: str) -> bytes:
        """Frame of one text delta."""
        return frame({"type": "text-delta", "id": self.text_id, "delta": token})

    def end(self, usage_block: dict[str, int]) -> bytes:
        """Frames closing a complete answer, including ``[DONE]``."""
        text_end = frame({"type": "text-end", "id": self.text_id})
        finish = frame({"type": "finish", "messageMetadata": {"usage": usage_block}})
        return text_end + finish + DONE_FRAME


def pick_format(requested: str | None, default: str = "openai") -> OpenAIChunks | AiSdkStream:
    """AI SDK format when the request asks (``X-Stream-Format: ai-sdk`` / ``?format=ai-sdk``) or the
    platform's ``--stream-format`` says so; OpenAI chunks otherwise."""
    choice = (requested or default).strip().lower()
    return AiSdkStream() if choice in ("ai-sdk", "vercel", "ui-message") else OpenAIChunks()
