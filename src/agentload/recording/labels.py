"""Labeled series: `metric{key:value,...}`, k6's sub-metric notation, so a budget can judge part of a run.

A sample may carry a few bounded labels (the user class, the turn of a session, the process that
measured it). Each labeled series is recorded *beside* the whole metric, never instead of it, as a
histogram or counter named `labeled(metric, labels)`: keys sorted, so one set of labels has one
name in every process, and deltas keep merging by name, exactly, as before. A budget that names
labels merges the series whose labels match. The profile stage is not a label: it is the key a
`Recorder` files every delta under (`Recorder.stage`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_RESERVED = frozenset("{}:,")


def labeled(metric: str, labels: Mapping[str, object]) -> str:
    """`labeled("chat_time_to_first_token", {"turn": 5})` -> `chat_time_to_first_token{turn:5}`."""
    if not labels:
        return metric
    parts = []
    for key in sorted(labels):
        value = str(labels[key])
        if _RESERVED.intersection(key) or _RESERVED.intersection(value):
            raise ValueError(f"label {key}={value!r}: neither key nor value may contain {{ }} : ,")
        parts.append(f"{key}:{value}")
    return f"{metric}{{{','.join(parts)}}}"


def split(name: str) -> tuple[str, dict[str, str]]:
    """The inverse of `labeled`: `m{turn:5}` -> ("m", {"turn": "5"}); an unlabeled name has no labels."""
    if not name.endswith("}") or "{" not in name:
        return name, {}
    metric, _, inner = name[:-1].partition("{")
    return metric, dict(pair.split(":", 1) for pair in inner.split(",") if pair)


def base(name: str) -> str:
    """The metric a series belongs to: `m{turn:5}` -> `m`."""
    return name.partition("{")[0]


MAX_VALUES = 64
"""A label may take at most this many values: every value is a series in every process's memory."""

MAX_TURNS = 32
BOUNDS: dict[str, frozenset[str]] = {"turn": frozenset(str(turn) for turn in range(1, MAX_TURNS + 1))}
"""The labels samples may carry, each with every value it may take. `turn` is a session's turn
(1 = the first message, 2 = the first follow-up, ...); `declare_label` adds others."""


UNBOUNDED: dict[str, str] = {}
"""Labels that could not be bounded, with why ("70 user classes, ..."): a budget naming one is refused."""


def declare_label(key: str, values: Iterable[object]) -> None:
    """Let samples carry label `key` with one of `values`; more than MAX_VALUES is a ValueError."""
    texts = frozenset(str(value) for value in values)
    if not texts or len(texts) > MAX_VALUES:
        raise ValueError(f"label {key!r} must have 1 to {MAX_VALUES} values, got {len(texts)}")
    labeled("x", {key: next(iter(texts))})  # refuses reserved characters
    BOUNDS[key] = BOUNDS.get(key, frozenset()) | texts


def check_labels(labels: Mapping[str, object]) -> None:
    """Refuse a label nobody declared or a value outside its bounds (a bug in the user code)."""
    for key, value in labels.items():
        allowed = BOUNDS.get(key)
        if allowed is None or str(value) not in allowed:
            raise ValueError(f"label {key}={value!r} is not declared (declare_label bounds each label)")
