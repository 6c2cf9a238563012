"""Per-metric summary statistics, with distribution-free confidence intervals, as plain dicts.

Every reporter (console, JSON, Markdown, the baseline comparator) reads the same numbers, so they
are computed once here: count, avg, min, med, max, p90, p95, p99 in the metric's own unit (ms for
durations, plain numbers otherwise) and a 95% confidence interval for each percentile, taken from
order statistics with the ranks of `agentload.budgets.confidence` (the gate uses the same ones):
`ci: {"p95": [low, high]}`, a side being None when the sample is too small to bound it.
The baseline comparator relies on `metrics[name]["p95"]` and `metrics[name]["ci"]["p95"]`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentload.budgets.confidence import percentile_ci
from agentload.budgets.model import Verdict
from agentload.recording.histogram import Histogram
from agentload.recording.metrics import ordered_metric_names
from agentload.recording.recorder import Snapshot

PERCENTILES: dict[str, float] = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
"""The percentiles that get a confidence interval; `med` is the same value as `p50`."""


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def interval(histogram: Histogram, percent: float) -> list[float | None]:
    """The 95% confidence interval `[low, high]` of the `percent`-th percentile of `histogram`."""
    return list(percentile_ci(histogram, percent))


def metric_summary(histogram: Histogram) -> dict[str, Any]:
    """count, avg, min, med, max, p90, p95, p99 and `ci` for one histogram (None when empty)."""
    if not histogram.count:
        empty: dict[str, Any] = {key: None for key in ("avg", "min", "med", "max", *PERCENTILES)}
        return {"count": 0, **empty, "ci": {key: [None, None] for key in PERCENTILES}}
    values = {key: histogram.percentile(p) for key, p in PERCENTILES.items()}
    return {
        "count": histogram.count,
        "avg": _finite(histogram.mean),
        "min": _finite(histogram.min),
        "med": values["p50"],
        "max": _finite(histogram.max),
        **values,
        "ci": {key: interval(histogram, p) for key, p in PERCENTILES.items()},
    }


def summarize(snapshot: Snapshot | Mapping[str, Histogram]) -> dict[str, dict[str, Any]]:
    """`metric_summary` of every histogram of `snapshot` (or of a name -> Histogram mapping)."""
    histograms = snapshot.histograms if isinstance(snapshot, Snapshot) else snapshot
    return {name: metric_summary(histograms[name]) for name in ordered_metric_names(histograms)}


def incomplete_reasons(snapshot: Snapshot, verdict: Verdict) -> list[str]:
    """Why the run is incomplete, from the verdict and the snapshot, in order and without duplicates."""
    return list(dict.fromkeys([*verdict.incomplete, *snapshot.incomplete]))
