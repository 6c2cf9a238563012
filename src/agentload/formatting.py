"""Number formatting shared by every text reporter, in the k6 style people already read.

Durations are shown in the largest unit that keeps the value at or above one (µs, ms, s, then
`1m2s` / `1h2m3s`), with at most two decimals and no trailing zeros, so a 1,460 ms P95 reads
`1.46s` and never `1.5s`: the gate decides on exact numbers, and the summary must not contradict
it. Values are also cut to four significant digits (three for plain numbers such as tokens):
the histograms are exact to 1/2048 of a value, so a fifth digit would only show bucket noise
(every sample at 250 ms reading `250.05ms`, 40 tokens reading `40.02`). Rounding happens before
the unit is chosen, so 999.996 ms reads `1s`, not `1000ms`.
"""

from __future__ import annotations

import math

from agentload.recording.metrics import COUNT, DURATION, RATE, kind_of


def _round(value: float, digits: int = 4) -> float:
    """`value` with at most two decimals and at most `digits` significant digits in the fraction."""
    integer_digits = len(str(int(abs(value)))) if abs(value) >= 1 else 0
    return round(value, max(0, min(2, digits - integer_digits)))


def _trim(value: float, digits: int = 4) -> str:
    """`value` rounded by `_round`, without trailing zeros (`1.50` -> `1.5`)."""
    text = f"{_round(value, digits):.2f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def format_duration(ms: float | None) -> str:
    """A duration given in milliseconds, formatted like k6: `850µs`, `799.5ms`, `1.46s`, `1m2s`."""
    if ms is None or not math.isfinite(ms):
        return "-"
    if ms < 0:
        return "-" + format_duration(-ms)
    if ms == 0:
        return "0s"
    if _round(ms * 1000) < 1000:
        return _trim(ms * 1000) + "µs"
    if _round(ms) < 1000:
        return _trim(ms) + "ms"
    seconds = _round(ms / 1000)
    if seconds < 60:
        return _trim(seconds) + "s"
    return _format_long(seconds)


def _format_long(seconds: float) -> str:
    """`1m2s`, `1m2.5s`, `1h0m3s` for durations of a minute or more (already rounded to 0.01 s)."""
    centis = round(seconds * 100)
    minutes, centis = divmod(centis, 6000)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}h{minutes}m" if hours else f"{minutes}m"
    return text + _trim(centis / 100) + "s"


def format_number(value: float | None) -> str:
    """A plain number with at most two decimals and three significant digits (`42`, `4.25`, `0.33`)."""
    if value is None or not math.isfinite(value):
        return "-"
    return _trim(value, digits=3)


def format_percent(ratio: float | None) -> str:
    """A ratio as a percentage with two decimals, like k6 rates: `0.00%`, `12.35%`."""
    if ratio is None or not math.isfinite(ratio):
        return "-"
    return f"{ratio * 100:.2f}%"


def format_value(metric: str, value: float | None) -> str:
    """`value` in the unit of `metric`'s kind (durations for `*_latency`, % for rates, ...)."""
    kind = kind_of(metric)
    if kind == DURATION:
        return format_duration(value)
    if kind == RATE:
        return format_percent(value)
    if kind == COUNT and value is not None and math.isfinite(value):
        return str(round(value)) if float(value).is_integer() else _trim(value)
    return format_number(value)


def format_ci(metric: str, low: float | None, high: float | None) -> str:
    """A 95% confidence interval as `[1.4s, 1.52s]`; an unbounded side shows as `-inf`/`+inf`."""
    if low is None and high is None:
        return ""
    left = format_value(metric, low) if low is not None else "-inf"
    right = format_value(metric, high) if high is not None else "+inf"
    return f"[{left}, {right}]"


def format_threshold(metric: str, comparison: str, threshold: float) -> str:
    """`< 800ms`, `> 20`, `< 1.00%`; counts are "at most"/"at least" budgets, so `<= 0`."""
    if kind_of(metric) == COUNT:
        comparison = {"<": "<=", ">": ">="}.get(comparison, comparison)
    return f"{comparison} {format_value(metric, threshold)}"
