"""Where an endpoint's service time goes: the components of the spec's "Common Issues" (pure).

The reference platform splits each endpoint's sampled service time into the parts a real agentic
platform spends it in, so that a load test can say which one is the bottleneck:

- ``queue``: waiting for a model slot (measured by the server, not modelled here);
- ``cache``: the Redis lookup before a model call;
- ``llm``: the model call (for chat: the part of the first token after the cache, plus every
  inter-token gap);
- ``db``: reading and writing the conversation, the workflow state or the step record;
- ``tool``: the MCP tool a workflow step calls.

Intent = queue + cache + llm + db, step = queue + db + tool, chat = queue + cache + llm. Each part
has its own share of the endpoint's time, jittered per request by a log-normal factor drawn from its
own seeded RNG (so the endpoint's total, and the RNG stream behind it, are unchanged). A
``component_scale`` of ``{"llm": 5}`` or ``{"intent.llm": 5}`` multiplies one part everywhere or on
one endpoint, the way a slow model or a slow database would.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from agentload.platform.latency import ChatPlan

ENDPOINTS: tuple[str, ...] = ("intent", "step", "chat")
SCALABLE: tuple[str, ...] = ("cache", "llm", "db", "tool")
COMPONENTS: tuple[str, ...] = ("queue", *SCALABLE)

SHARES: dict[str, dict[str, float]] = {
    "intent": {"cache": 0.05, "llm": 0.80, "db": 0.15},
    "step": {"db": 0.20, "tool": 0.80},
    "chat": {"cache": 0.05},  # of the first token; the rest of the first token and every gap is llm
}
ASYNC_STEP: dict[str, float] = {"db": 1.0}  # a 202 acknowledgement only writes the step record
JITTER_SIGMA = 0.3


def parse_component_scale(text: str) -> dict[str, float]:
    """``"llm=3,db=5"`` (every endpoint) or ``"intent.llm=5"`` (one endpoint); ValueError quotes it."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"invalid component scale {text!r}: expected pairs like llm=3,intent.db=5")
    scales: dict[str, float] = {}
    for part in text.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"invalid component scale {text!r}: {part.strip()!r} is not component=factor")
        _check_key(key, text)
        if key in scales:
            raise ValueError(f"invalid component scale {text!r}: {key!r} given twice")
        scales[key] = _factor(raw, text)
    return scales


def coerce_component_scale(value: object) -> dict[str, float]:
    """An admin value: a spec string or ``{"llm": 3, "intent.db": 5}``; ``{}`` clears every scale."""
    if isinstance(value, str):
        return parse_component_scale(value)
    if not isinstance(value, dict):
        raise ValueError(f"component_scale: expected a spec string or object, got {value!r}")
    scales = {}
    for key, factor in value.items():
        _check_key(str(key), repr(value))
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise ValueError(f"component_scale: {key!r} must be a number, got {factor!r}")
        scales[str(key)] = _factor(repr(float(factor)), repr(value))
    return scales


def _check_key(key: str, text: str) -> None:
    endpoint, dot, component = key.rpartition(".")
    if component not in SCALABLE or (dot and endpoint not in ENDPOINTS):
        raise ValueError(
            f"invalid component scale {text!r}: unknown component {key!r} "
            f"(expected one of {', '.join(SCALABLE)}, optionally as endpoint.component with "
            f"endpoint one of {', '.join(ENDPOINTS)})"
        )


def _factor(raw: str, text: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"invalid component scale {text!r}: {raw.strip()!r} is not a number") from None
    if not math.isfinite(value) or value <= 0 or value > 1000:
        raise ValueError(f"invalid component scale {text!r}: {raw.strip()!r} must be in (0, 1000]")
    return value


def scale_of(scales: Mapping[str, float], endpoint: str, component: str) -> float:
    """The factor of ``component`` on ``endpoint``: ``endpoint.component`` wins over ``component``."""
    return scales.get(f"{endpoint}.{component}", scales.get(component, 1.0))


def split(shares: Mapping[str, float], total_ms: float, rng: random.Random) -> dict[str, float]:
    """``total_ms`` cut into jittered shares that still add up to ``total_ms``."""
    weights = {name: share * rng.lognormvariate(0.0, JITTER_SIGMA) for name, share in shares.items()}
    whole = sum(weights.values()) or 1.0
    return {name: total_ms * weight / whole for name, weight in weights.items()}


def service_parts(
    endpoint: str, total_ms: float, rng: random.Random, scales: Mapping[str, float], async_step: bool = False
) -> dict[str, float]:
    """The components of one intent or step request, each scaled; their sum is the service time."""
    shares = ASYNC_STEP if async_step else SHARES[endpoint]
    parts = split(shares, total_ms, rng)
    return {name: ms * scale_of(scales, endpoint, name) for name, ms in parts.items()}


def chat_parts(
    plan: ChatPlan, rng: random.Random, scales: Mapping[str, float]
) -> tuple[ChatPlan, dict[str, float]]:
    """A chat plan with its cache and llm parts scaled, and those parts (cache + llm = plan total)."""
    share = SHARES["chat"]["cache"] * rng.lognormvariate(0.0, JITTER_SIGMA)
    cache = min(plan.ttft_ms, plan.ttft_ms * share)
    cache_scale, llm_scale = scale_of(scales, "chat", "cache"), scale_of(scales, "chat", "llm")
    if cache_scale != 1.0 or llm_scale != 1.0:
        ttft = cache * cache_scale + (plan.ttft_ms - cache) * llm_scale
        plan = ChatPlan(ttft, tuple(gap * llm_scale for gap in plan.gaps_ms))
        cache *= cache_scale
    return plan, {"cache": cache, "llm": plan.total_ms - cache}


def server_timing(parts: Mapping[str, float], total_ms: float, extra: str = "") -> str:
    """The ``Server-Timing`` value: one entry per component, then ``app`` (the whole service time)."""
    entries = [f"{name};dur={ms:.3f}" for name, ms in parts.items()]
    entries.append(f"app;dur={total_ms:.3f}{extra}")
    return ", ".join(entries)
