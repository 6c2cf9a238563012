"""Why a latency budget broke: where the slow requests spent their time (pure).

For a failing latency budget the verdict looks at the metric's slow tail, the requests at or above
its observed percentile (the P95 for a statistic that is not a percentile, and for a budget on a
part such as `intent_inference_latency.llm` or on `<metric>_scheduled`, the parent metric's
P95), and splits their summed time into the parts `recording/breakdown.py` kept: the server's
`Server-Timing` components, `other` server time and the `client` remainder. The largest share is
named first; that is the component to look at. The cut (`cut_ms`) is the edge of the bucket that
holds the percentile (buckets are about 4.4% wide), so the tail holds the percentile's own requests,
those above it, and possibly a few up to 4.4% faster.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentload.formatting import format_duration
from agentload.recording.breakdown import Breakdown
from agentload.recording.histogram import Histogram
from agentload.recording.metrics import SCHEDULED_SUFFIX, parent_metric
from agentload.recording.recorder import Snapshot

from .model import Budget


@dataclass(frozen=True)
class PartShare:
    """One part's share of the tail's time, and its mean per tail request."""

    part: str
    share: float
    mean_ms: float


@dataclass(frozen=True)
class Explanation:
    """The slow tail of one metric: the cut, how many requests, their mean and the parts' shares."""

    metric: str
    percentile: float
    cut_ms: float
    requests: int
    mean_ms: float
    parts: tuple[PartShare, ...]

    @property
    def dominant(self) -> str | None:
        return self.parts[0].part if self.parts else None

    @property
    def text(self) -> str:
        """`llm 78% (795ms), queue 10% (102ms), ... of the 37 requests >= 912ms (P95; mean 1.02s)`."""
        shares = ", ".join(
            f"{p.part} {p.share:.0%} ({format_duration(p.mean_ms)})" for p in self.parts if p.share >= 0.005
        )
        where = f"{self.requests} {self.metric} requests >= {format_duration(self.cut_ms)}"
        return f"{shares} of the {where} (P{self.percentile:g}; mean {format_duration(self.mean_ms)})"


def explain_budget(budget: Budget, snapshot: Snapshot, percent: float | None) -> Explanation | None:
    """The explanation of `budget`'s slow tail (`percent`: its statistic's percentile, if it is one)."""
    metric = parent_metric(budget.metric.removesuffix(SCHEDULED_SUFFIX))
    percent = percent if percent is not None and metric == budget.metric else 95.0
    return explain(metric, snapshot.histograms.get(metric), snapshot.breakdowns.get(metric), percent)


def explain(
    metric: str, histogram: Histogram | None, breakdown: Breakdown | None, percent: float = 95.0
) -> Explanation | None:
    """Shares of each part in the requests of `metric` at or above its `percent` percentile."""
    if histogram is None or histogram.count < 1 or breakdown is None:
        return None
    cut = histogram.percentile(percent)
    tail = breakdown.tail(cut)
    if tail.requests < 1 or tail.total_ms <= 0:
        return None
    ranked = sorted(tail.parts_ms.items(), key=lambda item: (-item[1], item[0]))
    parts = tuple(PartShare(name, ms / tail.total_ms, ms / tail.requests) for name, ms in ranked)
    return Explanation(metric, percent, tail.from_ms, tail.requests, tail.total_ms / tail.requests, parts)
