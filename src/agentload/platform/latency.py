"""Seeded service-time models for the reference platform (pure: no clock, no I/O).

A load-test gate is only meaningful against a target whose latency looks like the real thing, so the
platform samples its service times from heavy-tailed log-normal models shaped like LLM inference
(intent classification and chat: time to first token plus inter-token gaps) and tool calls (workflow
steps). Defaults are tuned so that intent P95 ~ 300 ms, step P95 ~ 800 ms, full chat P95 ~ 900 ms and a
typical first token ~ 250 ms (checked by ``tests/unit/test_platform_models.py``). ``FixedTiming``
replaces the sampled times with constants so that tests and benchmarks are deterministic.

Prefill: a chat answer's first token also waits for the model to read its input, so the time to
first token grows linearly with the request's input tokens (``ChatRequest.prompt_tokens``, words
of every message): ``prefill_ms_per_1k_tokens`` per 1,000 of them (default 500 ms for the random
models, 0 under fixed timing unless set), so later turns of a conversation, which carry the history,
get their first token later.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

_Z95 = 1.6448536269514722  # standard normal 95th percentile


@dataclass(frozen=True)
class LogNormal:
    """Log-normal distribution given by its median (ms) and the sigma of the underlying normal."""

    median_ms: float
    sigma: float

    def sample(self, rng: random.Random) -> float:
        """Draw one value in milliseconds."""
        return rng.lognormvariate(math.log(self.median_ms), self.sigma)

    def quantile(self, q_z: float = _Z95) -> float:
        """Value at the quantile whose standard-normal z-score is ``q_z`` (default: P95)."""
        return self.median_ms * math.exp(self.sigma * q_z)


@dataclass(frozen=True)
class LatencyParams:
    """Shape of the random latency models (all times in milliseconds)."""

    intent: LogNormal = LogNormal(140.0, 0.45)
    intent_extra_share: float = 0.25  # each further intent in a message adds 25 % to the median
    step: LogNormal = LogNormal(350.0, 0.5)
    step_accept: LogNormal = LogNormal(15.0, 0.3)  # 202 answers for steps run asynchronously
    ttft: LogNormal = LogNormal(230.0, 0.3)
    itl: LogNormal = LogNormal(12.5, 0.3)  # per-stream decode speed (mean gap between tokens)
    itl_jitter: float = 0.25  # per-token sigma around the stream's gap
    min_tokens: int = 16
    max_tokens: int = 40
    prefill_ms_per_1k_tokens: float = 500.0  # time to first token added per 1,000 input tokens


@dataclass(frozen=True)
class FixedTiming:
    """Deterministic service times; an endpoint absent from ``latency_ms`` keeps the random model.

    Chat is fixed when any of ``ttft_ms``/``itl_ms``/``tokens`` is set or ``latency_ms`` has "chat";
    missing parts default to ttft = latency_ms["chat"] (else 0), itl = 0 and 16 tokens.
    """

    latency_ms: Mapping[str, float] = field(default_factory=dict)
    ttft_ms: float | None = None
    itl_ms: float | None = None
    tokens: int | None = None
    prefill_ms_per_1k_tokens: float = 0.0

    @property
    def chat_fixed(self) -> bool:
        """True when chat streams use constant timing."""
        parts = (self.ttft_ms, self.itl_ms, self.tokens)
        return "chat" in self.latency_ms or any(p is not None for p in parts)


@dataclass(frozen=True)
class ChatPlan:
    """Timing of one chat answer: first token after ``ttft_ms``, then one gap per further token."""

    ttft_ms: float
    gaps_ms: tuple[float, ...]  # len == tokens - 1

    @property
    def tokens(self) -> int:
        """Number of completion tokens."""
        return len(self.gaps_ms) + 1

    @property
    def total_ms(self) -> float:
        """Time from start of generation to the last token."""
        return self.ttft_ms + sum(self.gaps_ms)

    def scaled(self, factor: float) -> ChatPlan:
        """Same plan with every interval multiplied by ``factor`` (the latency-scale fault)."""
        return ChatPlan(self.ttft_ms * factor, tuple(g * factor for g in self.gaps_ms))


class LatencyModel:
    """Samples service times from ``LatencyParams`` unless ``FixedTiming`` pins them."""

    def __init__(self, params: LatencyParams, fixed: FixedTiming, rng: random.Random) -> None:
        self.params = params
        self.fixed = fixed
        self.rng = rng

    def intent_ms(self, n_intents: int) -> float:
        """Service time of an intent classification for a message with ``n_intents`` requests."""
        if "intent" in self.fixed.latency_ms:
            return self.fixed.latency_ms["intent"]
        factor = 1.0 + self.params.intent_extra_share * max(0, n_intents - 1)
        return self.params.intent.sample(self.rng) * factor

    def step_ms(self, accepted_async: bool = False) -> float:
        """Service time of a workflow step (a tool call), or of its 202 acknowledgement."""
        if "step" in self.fixed.latency_ms:
            return self.fixed.latency_ms["step"]
        model = self.params.step_accept if accepted_async else self.params.step
        return model.sample(self.rng)

    def health_ms(self) -> float:
        """Health checks cost nothing unless a fixed latency is configured."""
        return self.fixed.latency_ms.get("health", 0.0)

    def chat_plan(self, input_tokens: int = 0) -> ChatPlan:
        """Time to first token (prefill of `input_tokens` included) and the gaps of one chat answer."""
        if self.fixed.chat_fixed:
            return self._fixed_chat_plan(input_tokens * self.fixed.prefill_ms_per_1k_tokens / 1000)
        p, rng = self.params, self.rng
        tokens = rng.randint(p.min_tokens, p.max_tokens)
        stream_gap = p.itl.sample(rng)
        jitter = LogNormal(1.0, p.itl_jitter)
        gaps = tuple(stream_gap * jitter.sample(rng) for _ in range(tokens - 1))
        prefill = input_tokens * p.prefill_ms_per_1k_tokens / 1000
        return ChatPlan(p.ttft.sample(rng) + prefill, gaps)

    def _fixed_chat_plan(self, prefill_ms: float) -> ChatPlan:
        f = self.fixed
        ttft = f.ttft_ms if f.ttft_ms is not None else f.latency_ms.get("chat", 0.0)
        tokens = f.tokens if f.tokens is not None else 16
        gap = f.itl_ms if f.itl_ms is not None else 0.0
        return ChatPlan(ttft + prefill_ms, (gap,) * (tokens - 1))
