"""Request body parsing and validation for the reference platform's API endpoints.

A load-testing target must answer bad input the way a well-behaved API does (a JSON 4xx naming the
problem), never with a 500, otherwise fuzzed or buggy traffic from the load generator would be
reported as platform failures. These functions turn a decoded JSON body into small frozen request
objects or raise ``ApiError`` with the status and message to send.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from aiohttp import web


class ApiError(Exception):
    """An error answer: HTTP status, message for the ``{"error": ...}`` body, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class ChatRequest:
    """Body of ``/api/intent`` and ``/api/chat``."""

    messages: tuple[dict[str, str], ...]
    user_location: dict[str, float] | None
    stream: bool | None

    def last_user_text(self) -> str:
        """Content of the last user message (of the last message when no role is "user")."""
        for message in reversed(self.messages):
            if message["role"] == "user":
                return message["content"]
        return self.messages[-1]["content"]

    def prompt_tokens(self) -> int:
        """Rough prompt size in tokens (whitespace-separated words, at least one per message)."""
        return sum(max(1, len(m["content"].split())) for m in self.messages)


@dataclass(frozen=True)
class StepRequest:
    """Body of ``/api/webhooks/execute-step``."""

    execution_id: str
    step_index: int
    run_async: bool | None
    tool: str | None


async def read_json(request: web.Request, max_body: int) -> dict[str, Any]:
    """Read and decode a JSON object body; 413 past ``max_body`` bytes, 400 for anything malformed."""
    if request.content_length is not None and request.content_length > max_body:
        raise ApiError(413, f"request body of {request.content_length} bytes exceeds the limit of {max_body}")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(413, f"request body exceeds the limit of {max_body} bytes") from None
    if not raw:
        raise ApiError(400, "request body is empty, expected a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, over-long integers
        raise ApiError(400, f"malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, f"JSON body must be an object, got {type(data).__name__}")
    return data


def _check_message(index: int, message: Any) -> dict[str, str]:
    if not isinstance(message, dict):
        raise ApiError(400, f"messages[{index}] must be an object with string role and content")
    for key in ("role", "content"):
        if not isinstance(message.get(key), str):
            raise ApiError(400, f"messages[{index}].{key} must be a string")
    return {"role": message["role"], "content": message["content"]}


def _check_location(value: Any) -> dict[str, float] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ApiError(400, "userLocation must be an object with numeric lat and lng")
    return {key: _finite_number(f"userLocation.{key}", value.get(key)) for key in ("lat", "lng")}


def _finite_number(name: str, number: Any) -> float:
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise ApiError(400, f"{name} must be a number")
    try:
        result = float(number)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ApiError(400, f"{name} must be a finite number")
    return result


def _optional_bool(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise ApiError(400, f"{key} must be true or false")
    return value


def parse_chat_request(data: dict[str, Any]) -> ChatRequest:
    """Validate ``{"messages": [{"role", "content"}, ...], "userLocation"?, "stream"?}``."""
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, "messages must be a non-empty list of {role, content} objects")
    checked = tuple(_check_message(i, m) for i, m in enumerate(messages))
    return ChatRequest(checked, _check_location(data.get("userLocation")), _optional_bool(data, "stream"))


def parse_step_request(data: dict[str, Any]) -> StepRequest:
    """Validate ``{"executionId": non-empty str, "stepIndex": int >= 0, "async"?: bool, "tool"?: str}``."""
    execution_id, step_index = data.get("executionId"), data.get("stepIndex")
    if not isinstance(execution_id, str) or not execution_id:
        raise ApiError(400, "executionId must be a non-empty string")
    if isinstance(step_index, bool) or not isinstance(step_index, int) or step_index < 0:
        raise ApiError(400, "stepIndex must be an integer >= 0")
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, str):
        raise ApiError(400, "tool must be a string")
    return StepRequest(execution_id, step_index, _optional_bool(data, "async"), tool)
