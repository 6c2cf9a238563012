"""aiohttp application of the reference platform: routes, handlers, faults and accounting.

This is where the pure parts meet the network. Every API request goes through the same life cycle:
count it in flight, maybe reset the connection (fault), check credentials, validate the body, take a
model slot (or be shed with 429), maybe stall or fail (faults), spend its sampled service time, and
answer (maybe truncated). One middleware turns every error into a JSON ``{"error": ...}`` body and one
``on_response_prepare`` hook stamps ``Server-Timing`` and counts the status as the answer goes out,
so handlers stay short and no path can skip the accounting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import random
import socket
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from agentload.platform.capacity import Overloaded, SlotPool
from agentload.platform.components import chat_parts, server_timing, service_parts
from agentload.platform.config import PlatformConfig
from agentload.platform.faults import Fault, FaultSettings, decide_fault, update_faults
from agentload.platform.intents import classify
from agentload.platform.latency import ChatPlan, LatencyModel
from agentload.platform.stats import Stats
from agentload.platform.streaming import pick_format, reply_tokens, usage
from agentload.platform.tools import TOOLS
from agentload.platform.validation import (
    ApiError,
    ChatRequest,
    StepRequest,
    parse_chat_request,
    parse_step_request,
    read_json,
)

log = logging.getLogger("agentload.platform")

API_ENDPOINTS = frozenset({"health", "intent", "step", "chat", "tools", "other"})
USER_HEADERS = ("X-Test-User-Id", "X-Clerk-Id")
KEY_HEADER = "X-Internal-System-Key"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ConnectionDropped(Exception):
    """The handler closed or aborted the connection on purpose (reset, stall end, truncation)."""


class PlatformState:
    """Live state of one platform instance: config, models, slots, counters and current faults."""

    def __init__(self, config: PlatformConfig) -> None:
        self.config = config
        self.latency = LatencyModel(config.latency, config.fixed, random.Random(config.seed))
        self.fault_rng = random.Random(f"{config.seed}:faults")
        self.async_rng = random.Random(f"{config.seed}:async")
        self.pool = SlotPool(config.slots, config.queue)
        self.stats = Stats()
        self.faults: FaultSettings = config.faults
        self.component_rng = random.Random(f"{config.seed}:components")

    def decide(self, endpoint: str) -> Fault:
        """Fault (or Fault.NONE) for one request to ``endpoint``."""
        return decide_fault(self.faults, endpoint, self.fault_rng)

    def scale(self, endpoint: str) -> float:
        """Current latency multiplier of ``endpoint``."""
        return self.faults.latency_scale.get(endpoint, 1.0)

    def parts(self, endpoint: str, service_ms: float, async_step: bool = False) -> dict[str, float]:
        """``service_ms`` split into its components, each under its current component scale."""
        scales = self.faults.component_scale
        return service_parts(endpoint, service_ms, self.component_rng, scales, async_step)

    def chat_parts(self, plan: ChatPlan) -> tuple[ChatPlan, dict[str, float]]:
        """The chat plan under the current component scales, and its cache and llm parts."""
        return chat_parts(plan, self.component_rng, self.faults.component_scale)

    @contextlib.asynccontextmanager
    async def admitted(self, request: web.Request, endpoint: str) -> AsyncIterator[None]:
        """``admit``, noting the time spent waiting for the slot as the request's ``queue`` part."""
        waited = time.perf_counter()
        async with self.admit(endpoint):
            request["queue_ms"] = (time.perf_counter() - waited) * 1000.0
            yield

    @contextlib.asynccontextmanager
    async def admit(self, endpoint: str) -> AsyncIterator[None]:
        """Hold a model slot (health is exempt); raises ``Overloaded`` when shedding."""
        if endpoint == "health":
            yield
            return
        async with self.pool.slot(self.faults.overload_mode):
            yield


STATE = web.AppKey("platform_state", PlatformState)


# --- helpers -------------------------------------------------------------------------------------


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """JSON error answer ``{"error": message}``."""
    return web.json_response({"error": message}, status=status, headers=headers)


def elapsed_ms(request: web.Request) -> float:
    """Milliseconds since the request reached the platform."""
    return (time.perf_counter() - request.get("t0", time.perf_counter())) * 1000.0


async def sleep_ms(ms: float) -> None:
    """Sleep ``ms`` milliseconds; no scheduling round-trip at all for 0."""
    if ms > 0:
        await asyncio.sleep(ms / 1000.0)


async def sleep_until(deadline: float) -> None:
    """Sleep until the event-loop time ``deadline`` (keeps token schedules free of drift)."""
    delay = deadline - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def require_user(request: web.Request) -> None:
    """401 unless both user identity headers are present and non-empty."""
    for name in USER_HEADERS:
        if not request.headers.get(name, "").strip():
            raise ApiError(401, f"missing {name} header")


def require_system_key(request: web.Request) -> None:
    """401 unless ``X-Internal-System-Key`` equals the configured key (constant-time compare)."""
    given = request.headers.get(KEY_HEADER)
    if not given:
        raise ApiError(401, f"missing {KEY_HEADER} header")
    expected = request.app[STATE].config.system_key
    if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
        raise ApiError(401, f"invalid {KEY_HEADER}")


def mark_answered(request: web.Request, endpoint: str, outcome: str) -> None:
    """Count a non-status outcome (stalled, reset) so the request is not also counted as cancelled."""
    request.app[STATE].stats.count(endpoint, outcome)
    request["answered"] = True


def abort_connection(request: web.Request) -> None:
    """Reset the TCP connection (RST via SO_LINGER 0) without sending anything more."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def close_connection(request: web.Request) -> None:
    """Close the connection after flushing what was written (a cut-short answer)."""
    if request.transport is not None:
        request.transport.close()


# --- fault steps ---------------------------------------------------------------------------------


def reset_if_faulted(request: web.Request, endpoint: str, fault: Fault) -> None:
    """Reset fault: drop the connection before reading or answering anything."""
    if fault is Fault.RESET:
        mark_answered(request, endpoint, "reset")
        abort_connection(request)
        raise ConnectionDropped("reset")


async def stall(request: web.Request, endpoint: str) -> None:
    """Stall fault: never answer; give up after ``stall_max_s`` (or when the client disconnects)."""
    mark_answered(request, endpoint, "stalled")
    await asyncio.sleep(request.app[STATE].faults.stall_max_s)
    abort_connection(request)
    raise ConnectionDropped("stall")


def injected_error(state: PlatformState) -> ApiError:
    """Error fault: a 500 or a 503 (without Retry-After)."""
    if state.fault_rng.random() < 0.5:
        return ApiError(500, "injected fault: internal server error")
    return ApiError(503, "injected fault: service unavailable")


async def serve_time(request: web.Request, endpoint: str, fault: Fault, service_ms: float) -> None:
    """Stall, or spend the service time and then fail if an error fault was drawn."""
    if fault is Fault.STALL:
        await stall(request, endpoint)
    await sleep_ms(service_ms)
    if fault is Fault.ERROR:
        raise injected_error(request.app[STATE])


async def json_answer(
    request: web.Request, payload: dict[str, Any], fault: Fault, status: int = 200
) -> web.StreamResponse:
    """Send ``payload``; a truncate fault sends half of the body and closes the connection."""
    if fault is not Fault.TRUNCATE:
        return web.json_response(payload, status=status)
    body = json.dumps(payload).encode()
    response = web.StreamResponse(status=status, headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    request.app[STATE].stats.count(request["endpoint"], "truncated")
    close_connection(request)
    raise ConnectionDropped("truncate")


# --- API handlers --------------------------------------------------------------------------------


async def handle_health(request: web.Request) -> web.StreamResponse:
    """GET /api/health: liveness plus occupancy; exempt from slots, subject to faults."""
    state = request.app[STATE]
    fault = state.decide("health")
    reset_if_faulted(request, "health", fault)
    await serve_time(request, "health", fault, state.latency.health_ms() * state.scale("health"))
    payload = {
        "status": "ok",
        "uptime_s": round(time.monotonic() - state.stats.started, 3),
        "in_flight": state.stats.in_flight,
        "capacity": state.pool.snapshot(),
    }
    return await json_answer(request, payload, fault)


async def handle_tools(request: web.Request) -> web.StreamResponse:
    """GET /api/tools: the MCP tool catalogue steps can call (the README's custom-endpoint example)."""
    state = request.app[STATE]
    fault = state.decide("tools")
    reset_if_faulted(request, "tools", fault)
    require_user(request)
    await serve_time(request, "tools", fault, state.latency.health_ms() * state.scale("tools"))
    return await json_answer(request, {"tools": [{"name": name} for name in TOOLS]}, fault)


async def handle_intent(request: web.Request) -> web.StreamResponse:
    """POST /api/intent: keyword intent classification with LLM-like latency."""
    state = request.app[STATE]
    fault = state.decide("intent")
    reset_if_faulted(request, "intent", fault)
    require_user(request)
    chat = parse_chat_request(await read_json(request, state.config.max_body))
    intents = [i.to_json() for i in classify(chat.last_user_text(), chat.user_location)]
    parts = state.parts("intent", state.latency.intent_ms(len(intents)) * state.scale("intent"))
    request["parts"] = parts
    async with state.admitted(request, "intent"):
        await serve_time(request, "intent", fault, sum(parts.values()))
    return await json_answer(request, {"intent": intents[0], "intents": intents}, fault)


async def handle_step(request: web.Request) -> web.StreamResponse:
    """POST /api/webhooks/execute-step: a workflow step (tool call), sometimes accepted with 202."""
    state = request.app[STATE]
    fault = state.decide("step")
    reset_if_faulted(request, "step", fault)
    require_system_key(request)
    step = parse_step_request(await read_json(request, state.config.max_body))
    run_async = step.run_async
    if run_async is None:
        run_async = state.async_rng.random() < state.config.async_step_rate
    parts = state.parts("step", state.latency.step_ms(run_async) * state.scale("step"), run_async)
    request["parts"] = parts
    service_ms = sum(parts.values())
    async with state.admitted(request, "step"):
        await serve_time(request, "step", fault, service_ms)
    status, payload = step_answer(step, run_async, service_ms)
    return await json_answer(request, payload, fault, status=status)


def step_answer(step: StepRequest, run_async: bool, service_ms: float) -> tuple[int, dict[str, Any]]:
    """202 accepted for asynchronous steps, else 200 completed with a tool result."""
    ids = {"executionId": step.execution_id, "stepIndex": step.step_index}
    if run_async:
        return 202, {"status": "accepted", **ids}
    result = {
        "tool": step.tool or f"tool_{step.step_index}",
        "output": f"step {step.step_index} done",
        "durationMs": round(service_ms, 3),
    }
    return 200, {**ids, "status": "completed", "result": result}


def wants_stream(request: web.Request, chat: ChatRequest) -> bool:
    """Stream when the body says ``"stream": true`` or (absent that) Accept asks for SSE (any format)."""
    if chat.stream is not None:
        return chat.stream
    return "text/event-stream" in request.headers.get("Accept", "")


async def handle_chat(request: web.Request) -> web.StreamResponse:
    """POST /api/chat: an assistant answer, streamed in the asked format or returned as JSON."""
    state = request.app[STATE]
    fault = state.decide("chat")
    reset_if_faulted(request, "chat", fault)
    require_user(request)
    chat = parse_chat_request(await read_json(request, state.config.max_body))
    planned = state.latency.chat_plan(chat.prompt_tokens())  # prefill: longer input, later first token
    plan, request["parts"] = state.chat_parts(planned.scaled(state.scale("chat")))
    topic = classify(chat.last_user_text())[0].type
    async with state.admitted(request, "chat"):
        if wants_stream(request, chat):
            if fault in (Fault.STALL, Fault.ERROR):  # fail before any header is sent
                await serve_time(request, "chat", fault, plan.ttft_ms)
            return await stream_chat(request, chat, plan, topic, fault)
        await serve_time(request, "chat", fault, plan.total_ms)
        text = "".join(reply_tokens(topic, plan.tokens)).strip()
        payload = {
            "message": {"role": "assistant", "content": text},
            "usage": usage(chat.prompt_tokens(), plan.tokens),
        }
    return await json_answer(request, payload, fault)


def planned_timing(request: web.Request, plan: ChatPlan) -> str:
    """Server-Timing for a stream: planned total and planned first token, both from arrival."""
    so_far = elapsed_ms(request)
    ttft = f'ttft;dur={so_far + plan.ttft_ms:.3f};desc="planned"'
    return server_timing(parts_of(request), so_far + plan.total_ms, f';desc="planned", {ttft}')


def parts_of(request: web.Request) -> dict[str, float]:
    """The request's components so far: the measured queue wait, then the modelled parts."""
    parts = {"queue": request["queue_ms"]} if "queue_ms" in request else {}
    return {**parts, **request.get("parts", {})}


async def stream_chat(
    request: web.Request, chat: ChatRequest, plan: ChatPlan, topic: str, fault: Fault
) -> web.StreamResponse:
    """Write the answer on schedule in the asked format: first token at ttft, one per gap, the end.

    A truncate fault closes the connection halfway, before the format's end (and, for plain text,
    before the chunked body's terminator), so every format shows a detectable truncation."""
    fmt = pick_format(
        request.headers.get("X-Stream-Format") or request.query.get("format"),
        request.app[STATE].config.stream_format,
    )
    headers = {
        "Content-Type": fmt.content_type,
        "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no",
        "Server-Timing": planned_timing(request, plan),
        **fmt.headers,
    }
    response = web.StreamResponse(status=200, headers=headers)
    await response.prepare(request)
    tokens = reply_tokens(topic, plan.tokens)
    cut = max(1, plan.tokens // 2) if fault is Fault.TRUNCATE else None
    due = asyncio.get_running_loop().time() + plan.ttft_ms / 1000.0
    for index, token in enumerate(tokens):
        due += plan.gaps_ms[index - 1] / 1000.0 if index else 0.0
        await sleep_until(due)
        await response.write(fmt.first(token) if index == 0 else fmt.token(token))
        if cut is not None and index + 1 >= cut:
            request.app[STATE].stats.count("chat", "truncated")
            close_connection(request)
            raise ConnectionDropped("truncate")
    await response.write(fmt.end(usage(chat.prompt_tokens(), plan.tokens)))
    await response.write_eof()
    return response


# --- admin handlers ------------------------------------------------------------------------------


async def admin_get_faults(request: web.Request) -> web.StreamResponse:
    """GET /_admin/faults: current fault settings (system key required)."""
    require_system_key(request)
    return web.json_response(request.app[STATE].faults.to_json())


async def admin_set_faults(request: web.Request) -> web.StreamResponse:
    """POST /_admin/faults: change fault settings at run time (system key required)."""
    require_system_key(request)
    state = request.app[STATE]
    changes = await read_json(request, state.config.max_body)
    try:
        state.faults = update_faults(state.faults, changes)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    log.info("fault settings changed: %s", state.faults.to_json())
    return web.json_response(state.faults.to_json())


async def admin_stats(request: web.Request) -> web.StreamResponse:
    """GET /_admin/stats: request counts per endpoint and status (no key needed)."""
    state = request.app[STATE]
    return web.json_response({**state.stats.snapshot(), "capacity": state.pool.snapshot()})


async def admin_reset_stats(request: web.Request) -> web.StreamResponse:
    """POST /_admin/stats/reset: zero the counters (system key required)."""
    require_system_key(request)
    state = request.app[STATE]
    state.stats.reset()
    return web.json_response({**state.stats.snapshot(), "capacity": state.pool.snapshot()})


# --- middleware, signals, factory ----------------------------------------------------------------


def http_error_text(request: web.Request, exc: web.HTTPException) -> str:
    """Readable message for errors raised by aiohttp itself (404, 405, 413, ...)."""
    if exc.status == 404:
        return f"no route for {request.method} {request.path}"
    if exc.status == 405:
        return f"method {request.method} not allowed for {request.path}"
    return exc.reason


def endpoint_of(request: web.Request) -> str:
    """Route name (health, intent, step, chat, admin-*) or "other" for unknown routes."""
    return request.match_info.route.name or "other"


@web.middleware
async def platform_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time, count and error-wrap every request so that no failure escapes as a bare 500."""
    request["t0"] = time.perf_counter()
    endpoint = request["endpoint"] = endpoint_of(request)
    stats = request.app[STATE].stats
    tracked = endpoint in API_ENDPOINTS
    stats.in_flight += tracked
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.headers)
    except Overloaded as exc:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
        return error_response(exc.status, exc.message, headers)
    except web.HTTPException as exc:
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, http_error_text(request, exc), allow)
    except ConnectionDropped:
        request["dropped"] = True
        return web.Response()
    except asyncio.CancelledError:
        if tracked and not request.get("answered"):
            stats.count(endpoint, "cancelled")
        raise
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(500, "internal error")
    finally:
        stats.in_flight -= tracked


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Stamp Server-Timing (service time so far) and count the status as the answer goes out."""
    if request.get("dropped"):
        return
    if "Server-Timing" not in response.headers:
        total = elapsed_ms(request)
        served = "queue_ms" in request and response.status < 400  # parts only for answers served
        response.headers["Server-Timing"] = server_timing(parts_of(request) if served else {}, total)
    endpoint = request.get("endpoint")
    if endpoint in API_ENDPOINTS:
        request.app[STATE].stats.count(endpoint, response.status)
        request["answered"] = True


def build_app(config: PlatformConfig) -> web.Application:
    """The platform as an aiohttp application (routes, middleware, state)."""
    app = web.Application(middlewares=[platform_middleware], client_max_size=config.max_body)
    app[STATE] = PlatformState(config)
    app.on_response_prepare.append(on_prepare)
    add = app.router.add_route
    add("GET", "/api/health", handle_health, name="health")
    add("POST", "/api/intent", handle_intent, name="intent")
    add("POST", "/api/webhooks/execute-step", handle_step, name="step")
    add("POST", "/api/chat", handle_chat, name="chat")
    add("GET", "/api/tools", handle_tools, name="tools")
    add("GET", "/_admin/faults", admin_get_faults, name="admin-faults-get")
    add("POST", "/_admin/faults", admin_set_faults, name="admin-faults-set")
    add("GET", "/_admin/stats", admin_stats, name="admin-stats")
    add("POST", "/_admin/stats/reset", admin_reset_stats, name="admin-stats-reset")
    return app
