"""Start-up configuration of the reference platform, built from CLI flags and environment variables.

Everything the server needs to know before it binds lives in one frozen ``PlatformConfig`` so that the
app factory, the CLI and the tests agree on one description of a platform instance. The capacity
defaults (32 slots, 64 queued) are chosen so that the budget profile (<= 10 intent users + <= 5 step
users + chat at 10 req/s, about 24 requests in service at once) fits without queueing, while a stress
profile of 200 closed-loop users (about 200 requests wanted in service) overflows slots and queue and
gets 429s. Parsing helpers raise ``ValueError`` with a message fit for a one-line CLI error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from agentload.platform.faults import (
    FaultSettings,
    check_overload_mode,
    check_stall_max,
    parse_fault_spec,
    update_faults,
)
from agentload.platform.latency import FixedTiming, LatencyParams

DEFAULT_SLOTS = 32
DEFAULT_QUEUE = 64
DEFAULT_MAX_BODY = 64 * 1024
DEFAULT_SYSTEM_KEY = "test-key"
ENV_PREFIX = "PLATFORM_"


@dataclass(frozen=True)
class PlatformConfig:
    """Everything fixed at start-up; faults start here and may later change through the admin API."""

    host: str = "127.0.0.1"
    port: int = 3000
    system_key: str = field(default=DEFAULT_SYSTEM_KEY, repr=False)  # never printed
    seed: int = 1
    slots: int = DEFAULT_SLOTS
    queue: int = DEFAULT_QUEUE
    max_body: int = DEFAULT_MAX_BODY
    async_step_rate: float = 0.1
    latency: LatencyParams = field(default_factory=LatencyParams)
    fixed: FixedTiming = field(default_factory=FixedTiming)
    faults: FaultSettings = field(default_factory=FaultSettings)
    access_log: bool = False
    stream_format: str = "openai"


def parse_fixed_latency(text: str) -> dict[str, float]:
    """``"intent=100,step=50"`` -> only the named endpoints; a bare ``"0"`` -> every endpoint."""
    if "=" not in text:
        return parse_fault_spec(text)
    named = parse_fault_spec(text, default=math.nan)
    return {endpoint: value for endpoint, value in named.items() if not math.isnan(value)}


def parse_non_negative(name: str, text: str, *, integer: bool = False) -> float:
    """A finite number >= 0 (an int when ``integer``); ValueError quotes the bad value."""
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} {text!r} is not {kind}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} {text!r} must be >= 0")
    return value


def faults_from_texts(
    texts: Mapping[str, str | None], overload_mode: str, stall_max_s: float
) -> FaultSettings:
    """Fault settings from flag/env spec strings keyed by fault name (None keeps the default)."""
    base = FaultSettings(
        overload_mode=check_overload_mode(overload_mode), stall_max_s=check_stall_max(stall_max_s)
    )
    return update_faults(base, {name: text for name, text in texts.items() if text is not None})
