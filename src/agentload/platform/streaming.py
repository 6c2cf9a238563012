"""Wire encodings of a streamed chat answer, one small class per format a real producer sends.

Clients of the real platform consume chat answers in the wire format of whatever produces them: OpenAI
chat chunks, the Vercel AI SDK UI message stream (v5+) or its v4 data stream, plain text (the SDK's
`toTextStreamResponse`), OpenAI Responses API events or Anthropic Messages events. The load generator
measures time to first token and inter-token gaps from them, so the reference platform must emit
byte-exact frames with the right Content-Type and marker headers. Each class turns the start, each
token and the end of an answer into bytes; the handler decides when to write them. Nothing is sent
before the first token, so "first event" and "first token" coincide in every format. A truncated
answer is one that stops before `end()`: no format's end event is sent (and for plain text, the
connection is cut before the chunked body's terminator).
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


def sse(event: str, payload: dict[str, Any]) -> bytes:
    """One named SSE event (``event: NAME``) carrying ``payload`` as compact JSON."""
    return b"event: " + event.encode() + b"\n" + frame(payload)


SSE = "text/event-stream"
RESPONSES = "openai-responses"
PLAIN = "text/plain; charset=utf-8"


class OpenAIChunks:
    """``chat.completion.chunk`` events, a final chunk with finish_reason and usage, then ``[DONE]``."""

    content_type = SSE
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

    content_type = SSE
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


class AiSdkDataStream:
    """AI SDK v4 data stream protocol: ``f:`` start, ``0:"text"`` parts, ``e:`` and ``d:`` finish parts."""

    content_type = PLAIN
    headers: dict[str, str] = {"x-vercel-ai-data-stream": "v1"}

    @staticmethod
    def _part(code: str, value: Any) -> bytes:
        return code.encode() + b":" + json.dumps(value, separators=(",", ":")).encode() + b"\n"

    def first(self, token: str) -> bytes:
        """The message start part and the first text part."""
        return self._part("f", {"messageId": f"msg-{uuid.uuid4().hex[:16]}"}) + self.token(token)

    def token(self, token: str) -> bytes:
        """One text part."""
        return self._part("0", token)

    def end(self, usage_block: dict[str, int]) -> bytes:
        """The step finish and message finish parts, with usage in the SDK's camelCase."""
        counts = {
            "promptTokens": usage_block["prompt_tokens"],
            "completionTokens": usage_block["completion_tokens"],
        }
        step = self._part("e", {"finishReason": "stop", "usage": counts, "isContinued": False})
        return step + self._part("d", {"finishReason": "stop", "usage": counts})


class PlainText:
    """Plain text, as the AI SDK's ``toTextStreamResponse()`` sends it: the tokens and nothing else."""

    content_type = PLAIN
    headers: dict[str, str] = {}

    def first(self, token: str) -> bytes:
        return self.token(token)

    def token(self, token: str) -> bytes:
        return token.encode()

    def end(self, usage_block: dict[str, int]) -> bytes:
        """Nothing: the end of the body is the end of the answer."""
        return b""


class ResponsesEvents:
    """OpenAI Responses API events: created, output item and content part, text deltas, completed."""

    content_type = SSE
    headers: dict[str, str] = {}

    def __init__(self) -> None:
        self.id = f"resp_{uuid.uuid4().hex}"
        self.item_id = f"msg_{uuid.uuid4().hex}"
        self.created_at = int(time.time())
        self.sequence = 0
        self.text: list[str] = []

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return sse(kind, payload)

    def _response(self, status: str, output: list[dict[str, Any]], usage_block: dict | None) -> dict:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "model": MODEL_NAME,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage_block,
        }

    def _message(self, status: str, text: str | None = None) -> dict[str, Any]:
        content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
        message = {"id": self.item_id, "type": "message", "role": "assistant", "status": status}
        return {**message, "content": content}

    def first(self, token: str) -> bytes:
        """created, in_progress, the output item and its content part, then the first delta."""
        at = {"output_index": 0, "item_id": self.item_id, "content_index": 0}
        return (
            self._event("response.created", response=self._response("in_progress", [], None))
            + self._event("response.in_progress", response=self._response("in_progress", [], None))
            + self._event("response.output_item.added", output_index=0, item=self._message("in_progress"))
            + self._event("response.content_part.added", **at, part=self._text_part(""))
            + self.token(token)
        )

    @staticmethod
    def _text_part(text: str) -> dict[str, Any]:
        return {"type": "output_text", "text": text, "annotations": []}

    def token(self, token: str) -> bytes:
        self.text.append(token)
        at = {"output_index": 0, "item_id": self.item_id, "content_index": 0}
        return self._event("response.output_text.delta", **at, delta=token, logprobs=[])

    def end(self, usage_block: dict[str, int]) -> bytes:
        """The done events of text, part and item, then ``response.completed`` with usage."""
        text = "".join(self.text)
        at = {"output_index": 0, "item_id": self.item_id, "content_index": 0}
        item = self._message("completed", text)
        counts = {
            "input_tokens": usage_block["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": usage_block["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": usage_block["total_tokens"],
        }
        return (
            self._event("response.output_text.done", **at, text=text, logprobs=[])
            + self._event("response.content_part.done", **at, part=self._text_part(text))
            + self._event("response.output_item.done", output_index=0, item=item)
            + self._event("response.completed", response=self._response("completed", [item], counts))
        )


class AnthropicEvents:
    """Anthropic Messages events: message_start, a text block of text_delta, message_delta, message_stop."""

    content_type = SSE
    headers: dict[str, str] = {}

    def __init__(self) -> None:
        self.id = f"msg_{uuid.uuid4().hex[:24]}"

    def first(self, token: str) -> bytes:
        """message_start, the text block's start and a ping, then the first delta."""
        message = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": MODEL_NAME,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        return (
            sse("message_start", {"type": "message_start", "message": message})
            + sse("content_block_start", block)
            + sse("ping", {"type": "ping"})
            + self.token(token)
        )

    def token(self, token: str) -> bytes:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}}
        return sse("content_block_delta", delta)

    def end(self, usage_block: dict[str, int]) -> bytes:
        """The block's stop, message_delta with the output tokens, then message_stop."""
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": usage_block["completion_tokens"]},
        }
        return (
            sse("content_block_stop", {"type": "content_block_stop", "index": 0})
            + sse("message_delta", delta)
            + sse("message_stop", {"type": "message_stop"})
        )


ENCODERS: dict[str, type] = {
    "openai": OpenAIChunks,
    "ai-sdk": AiSdkStream,
    "ai-sdk-data": AiSdkDataStream,
    "text": PlainText,
    RESPONSES: ResponsesEvents,
    "anthropic": AnthropicEvents,
}
"""One encoder per stream format, under the names the load generator's decoder uses."""
ALIASES = {"vercel": "ai-sdk", "ui-message": "ai-sdk", "ai-sdk-v4": "ai-sdk-data", "responses": RESPONSES}


def pick_format(requested: str | None, default: str = "openai") -> Any:
    """The encoder the request asks for (``X-Stream-Format`` / ``?format=``), else the platform's
    ``--stream-format``; an unknown name falls back to the platform's default."""
    choice = (requested or default).strip().lower()
    choice = ALIASES.get(choice, choice)
    return ENCODERS.get(choice, ENCODERS[ALIASES.get(default, default)])()
