"""Fault injection settings for the reference platform: parsing and per-request decisions.

Load tests are only worth something if the gate reacts correctly when the target misbehaves, so the
platform can answer a share of requests with 5xx errors, slow down, stall, cut streams short or reset
connections. This module holds the pure parts: ``parse_fault_spec`` turns flag/env/admin values such
as ``"0.1"`` or ``"intent=1.0,chat=0.5"`` into one value per endpoint, ``FaultSettings`` is the
immutable snapshot the server swaps atomically when ``POST /_admin/faults`` changes it, and
``decide_fault`` draws the fault (if any) for one request from a seeded RNG.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from agentload.platform.components import coerce_component_scale

ENDPOINTS: tuple[str, ...] = ("health", "intent", "step", "chat")
OVERLOAD_MODES: tuple[str, ...] = ("shed", "queue", "error")

# fault name -> (default, maximum allowed value or None for unbounded)
RATE_FAULTS: tuple[str, ...] = ("error_rate", "stall_rate", "truncate_rate", "reset_rate")
FAULT_LIMITS: dict[str, tuple[float, float | None]] = {
    "error_rate": (0.0, 1.0),
    "latency_scale": (1.0, None),
    "stall_rate": (0.0, 1.0),
    "truncate_rate": (0.0, 1.0),
    "reset_rate": (0.0, 1.0),
}


class Fault(enum.Enum):
    """What the platform does wrong (if anything) for one request."""

    NONE = "none"
    RESET = "reset"
    STALL = "stall"
    ERROR = "error"
    TRUNCATE = "truncate"


def _parse_number(raw: str, text: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"invalid fault spec {text!r}: {raw.strip()!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"invalid fault spec {text!r}: {raw.strip()!r} must be a finite number >= 0")
    return value


def parse_fault_spec(text: str, default: float = 0.0) -> dict[str, float]:
    """Parse ``"0.3"`` (all endpoints) or ``"intent=1,chat=0.5"`` (others get ``default``).

    A bare number inside a list (``"0.1,intent=1"``) sets the value of the endpoints not named.
    Raises ValueError quoting the offending text.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"invalid fault spec {text!r}: expected a number or endpoint=value pairs")
    fallback, named = default, {}
    for part in text.split(","):
        if "=" not in part:
            fallback = _parse_number(part, text)
            continue
        name, _, raw = part.partition("=")
        name = name.strip()
        if name not in ENDPOINTS:
            expected = ", ".join(ENDPOINTS)
            raise ValueError(
                f"invalid fault spec {text!r}: unknown endpoint {name!r} (expected one of {expected})"
            )
        if name in named:
            raise ValueError(f"invalid fault spec {text!r}: endpoint {name!r} given twice")
        named[name] = _parse_number(raw, text)
    return {endpoint: named.get(endpoint, fallback) for endpoint in ENDPOINTS}


def check_limits(name: str, values: Mapping[str, float]) -> dict[str, float]:
    """Reject values outside the allowed range of fault ``name`` (rates are shares in [0, 1])."""
    _, maximum = FAULT_LIMITS[name]
    for endpoint, value in values.items():
        if maximum is not None and value > maximum:
            raise ValueError(f"{name} for {endpoint} is {value:g}, must be between 0 and {maximum:g}")
    return dict(values)


def coerce_fault_value(name: str, value: Any) -> dict[str, float]:
    """Turn an admin/flag value (number, spec string or {endpoint: number}) into per-endpoint values."""
    default, _ = FAULT_LIMITS[name]
    if isinstance(value, bool):
        raise ValueError(f"{name}: expected a number, spec string or object, got {value!r}")
    if isinstance(value, int | float):
        values = parse_fault_spec(repr(float(value)), default)
    elif isinstance(value, str):
        values = parse_fault_spec(value, default)
    elif isinstance(value, dict):
        spec = ",".join(f"{key}={_number_text(name, val)}" for key, val in value.items())
        values = parse_fault_spec(spec, default) if spec else parse_fault_spec(str(default), default)
    else:
        raise ValueError(f"{name}: expected a number, spec string or object, got {value!r}")
    return check_limits(name, values)


def _number_text(name: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: per-endpoint value {value!r} is not a number")
    return repr(float(value))


def _uniform(value: float) -> dict[str, float]:
    return dict.fromkeys(ENDPOINTS, value)


@dataclass(frozen=True)
class FaultSettings:
    """Immutable snapshot of every fault knob; replaced as a whole on each admin update."""

    error_rate: Mapping[str, float] = field(default_factory=lambda: _uniform(0.0))
    latency_scale: Mapping[str, float] = field(default_factory=lambda: _uniform(1.0))
    stall_rate: Mapping[str, float] = field(default_factory=lambda: _uniform(0.0))
    truncate_rate: Mapping[str, float] = field(default_factory=lambda: _uniform(0.0))
    reset_rate: Mapping[str, float] = field(default_factory=lambda: _uniform(0.0))
    overload_mode: str = "shed"
    stall_max_s: float = 120.0
    component_scale: Mapping[str, float] = field(default_factory=dict)
    """Per-component slowdowns (`{"llm": 5}` or `{"intent.llm": 5}`), see `components`."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready view, as returned by ``GET /_admin/faults``."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in (*FAULT_LIMITS, "component_scale"):
            out[name] = dict(out[name])
        return out


def check_overload_mode(value: Any) -> str:
    """Validate an overload mode name (shed | queue | error)."""
    if value not in OVERLOAD_MODES:
        raise ValueError(f"overload_mode {value!r} is not one of {', '.join(OVERLOAD_MODES)}")
    return str(value)


def check_stall_max(value: Any) -> float:
    """Validate the stall cap in seconds (a positive number)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ValueError(f"stall_max_s {value!r} must be a number of seconds in (0, 3600]")
    return float(value)


def update_faults(current: FaultSettings, changes: Mapping[str, Any]) -> FaultSettings:
    """Apply an admin update; each given key replaces that knob entirely. Unknown keys raise ValueError."""
    updates: dict[str, Any] = {}
    for key, value in changes.items():
        if key in FAULT_LIMITS:
            updates[key] = coerce_fault_value(key, value)
        elif key == "overload_mode":
            updates[key] = check_overload_mode(value)
        elif key == "shed":
            if not isinstance(value, bool):
                raise ValueError(f"shed {value!r} must be true or false")
            updates["overload_mode"] = "shed" if value else "queue"
        elif key == "stall_max_s":
            updates[key] = check_stall_max(value)
        elif key == "component_scale":
            updates[key] = coerce_component_scale(value)
        else:
            known = ", ".join([*FAULT_LIMITS, "overload_mode", "shed", "stall_max_s", "component_scale"])
            raise ValueError(f"unknown fault setting {key!r} (expected one of {known})")
    return replace(current, **updates)


def decide_fault(settings: FaultSettings, endpoint: str, rng: random.Random) -> Fault:
    """Draw the fault for one request; precedence reset > stall > error > truncate."""
    for fault, rates in (
        (Fault.RESET, settings.reset_rate),
        (Fault.STALL, settings.stall_rate),
        (Fault.ERROR, settings.error_rate),
        (Fault.TRUNCATE, settings.truncate_rate),
    ):
        rate = rates.get(endpoint, 0.0)
        if rate > 0.0 and (rate >= 1.0 or rng.random() < rate):
            return fault
    return Fault.NONE
