"""The endpoint table: every request the suite knows how to send and judge, declared in one place.

An `Endpoint` says where a request goes (method, path), what it is measured as (the metric, which
is also its name in Locust's tables), which statuses mean success, what a good body looks like
and how long it may take. The platform's four endpoints are the built-in entries; a locustfile
declares its own the same way and sends them with `self.api.call(endpoint, json=...)`::

    SEARCH = Endpoint("search", "POST", "/api/search", "search_latency", check=has_results, auth="user")

A body check gets the decoded JSON document and the JSON that was sent, and returns None when the
body is good, or a short reason (it becomes `invalid body: <reason>` in the failures table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

BodyCheck = Callable[[Any, Mapping[str, Any]], str | None]


@dataclass(frozen=True)
class Endpoint:
    """One request kind of the platform's API and the contract its responses are judged by."""

    name: str
    method: str
    path: str
    metric: str
    expected: frozenset[int] = frozenset({200})
    check: BodyCheck | None = None
    """None: any body is fine (the status alone decides)."""
    no_body: frozenset[int] = frozenset()
    """Statuses that succeed without a body to check (202 Accepted for asynchronous work)."""
    timeout_s: float | None = None
    """None: the run's `--request-timeout` for this endpoint (10 s by default)."""
    streams: bool = False
    auth: str = ""
    """Which credentials the platform wants: "user" (test user headers), "internal" (the system key)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "expected", frozenset(self.expected))
        object.__setattr__(self, "no_body", frozenset(self.no_body))
        object.__setattr__(self, "method", self.method.upper())
        if self.auth not in ("", "user", "internal"):
            message = f"auth must be '', 'user' or 'internal', got {self.auth!r}"
            raise ValueError(f"endpoint {self.name!r}: {message}")
        if not self.path.startswith("/"):
            raise ValueError(f"endpoint {self.name!r}: path must start with '/', got {self.path!r}")


def _check_health(document: Any, sent: Mapping[str, Any]) -> str | None:
    return None if isinstance(document, dict) and document.get("status") == "ok" else "status is not ok"


def _check_intent(document: Any, sent: Mapping[str, Any]) -> str | None:
    intent = document.get("intent") if isinstance(document, dict) else None
    if not isinstance(intent, dict) or not isinstance(intent.get("type"), str):
        return "intent.type missing"
    return None


def _check_step(document: Any, sent: Mapping[str, Any]) -> str | None:
    if not isinstance(document, dict) or document.get("executionId") != sent.get("executionId"):
        return "executionId not echoed"
    return None


def _check_chat(document: Any, sent: Mapping[str, Any]) -> str | None:
    message = document.get("message") if isinstance(document, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), str):
        return "message.content missing"
    return None


HEALTH = Endpoint("health", "GET", "/api/health", "health_check_latency", check=_check_health)
INTENT = Endpoint(
    "intent", "POST", "/api/intent", "intent_inference_latency", check=_check_intent, auth="user"
)
STEP = Endpoint(
    "step",
    "POST",
    "/api/webhooks/execute-step",
    "step_execution_latency",
    expected=frozenset({200, 202}),
    check=_check_step,
    no_body=frozenset({202}),
    auth="internal",
)
CHAT = Endpoint(
    "chat", "POST", "/api/chat", "chat_response_latency", check=_check_chat, streams=True, auth="user"
)

BUILTIN_ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in (HEALTH, INTENT, STEP, CHAT)}
"""The reference platform's API, by endpoint name (the names `--request-timeout` accepts)."""
