"""Compare this run's P95s with a previous JSON report, so that a slow creep is caught before a budget breaks.

A change only counts as a regression when it is both large and real: the current P95 is above the
baseline P95 by more than the policy margin, AND the 95% confidence intervals do not overlap (the
current interval's low end is above the baseline interval's high end). Without a confidence
interval on either side (an old report, too few samples) nothing can be shown to be beyond noise,
so the change is reported but never significant.

The baseline is read defensively (it is a file someone kept around): per metric exactly
`metrics[name]["p95"]` (milliseconds) and `metrics[name]["ci"]["p95"]` = [low, high], either of
which may be null; anything of another shape is skipped. Only latency-like metrics are compared:
metrics the registry knows to be other than durations (tokens per second, where higher is better)
are skipped, and so are baselines with a P95 of 0 (no relative change can be computed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentload.recording.histogram import Histogram
from agentload.recording.metrics import DURATION, kind_of

from .confidence import percentile_ci
from .model import Regression


def compare_to_baseline(
    histograms: Mapping[str, Histogram], baseline: Mapping[str, Any], margin: float
) -> tuple[Regression, ...]:
    """One `Regression` (significant or not) per latency metric present in both runs, by name."""
    metrics = baseline.get("metrics") if isinstance(baseline, Mapping) else None
    if not isinstance(metrics, Mapping):
        return ()
    comparisons = []
    for name in sorted(histograms):
        histogram, entry = histograms[name], metrics.get(name)
        if kind_of(name) != DURATION or histogram.count < 1 or not isinstance(entry, Mapping):
            continue
        baseline_p95 = _milliseconds(entry.get("p95"))
        if baseline_p95 is None or baseline_p95 <= 0:
            continue
        comparisons.append(_compare(name, histogram, baseline_p95, _baseline_ci_high(entry), margin))
    return tuple(comparisons)


def _compare(
    name: str, histogram: Histogram, baseline_p95: float, baseline_high: float | None, margin: float
) -> Regression:
    current = histogram.percentile(95)
    current_low, _ = percentile_ci(histogram, 95)
    beyond_noise = current_low is not None and baseline_high is not None and current_low > baseline_high
    significant = current > baseline_p95 * (1 + margin) and beyond_noise
    change = (current - baseline_p95) / baseline_p95
    return Regression(name, baseline_p95, current, change, significant)


def _baseline_ci_high(entry: Mapping[str, Any]) -> float | None:
    ci = entry.get("ci")
    interval = ci.get("p95") if isinstance(ci, Mapping) else None
    if not isinstance(interval, list | tuple) or len(interval) != 2:
        return None
    return _milliseconds(interval[1])


def _milliseconds(value: Any) -> float | None:
    """A finite, non-negative JSON number, or None for anything else (null, text, booleans)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and number >= 0 else None
