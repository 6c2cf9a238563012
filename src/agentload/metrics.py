"""Exact, bounded, mergeable recording of samples, and the plain-data snapshot the verdict reads.

Locust rounds response times into buckets before it computes percentiles (10 ms steps between
100 ms and 1 s, 100 ms steps above), which turns a 1,460 ms P95 into 1,500 ms. A budget gate cannot
work on that, so every sample is also recorded here, in an HDR-style log-linear histogram:

* values are kept in micro-units (µs for durations) with 11 significant bits, so any value is
  stored within 1/2048 (< 0.05%) of itself: the error bound is 0.1% from 1 µs to days;
* memory is bounded by the number of distinct buckets (at most ~1,000 per power of two), never
  by the number of samples;
* two histograms merge exactly by adding their bucket counts, which is what distributed runs need.

A `Recorder` lives in every process and holds what was recorded since it was last drained; an
`Aggregate` (on the master, or the local runner) merges drained deltas and produces `Snapshot`s.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

SUB_BUCKET_BITS = 11
_SUB_BUCKET_COUNT = 1 << SUB_BUCKET_BITS
_SCALE = 1000  # micro-units per unit: µs per ms for durations

# Metric kinds decide which statistics a budget may ask for and how a threshold is written.
DURATION = "duration"  # milliseconds; p50/p90/p95/p99/avg/min/med/max
NUMBER = "number"  # a plain trend (tokens, tokens per second); same statistics
RATE = "rate"  # a ratio derived from counters; stat "rate"
COUNT = "count"  # a counter; stat "count"

METRICS: dict[str, str] = {
    "intent_inference_latency": DURATION,
    "step_execution_latency": DURATION,
    "chat_response_latency": DURATION,
    "chat_time_to_first_token": DURATION,
    "chat_inter_token_latency": DURATION,
    "chat_output_tokens": NUMBER,
    "chat_tokens_per_second": NUMBER,
    "health_check_latency": DURATION,
    "iteration_schedule_lag": DURATION,
    "error_rate": RATE,
    "shed_rate": RATE,
    "http_5xx": COUNT,
    "errors": COUNT,
    "shed": COUNT,
    "requests": COUNT,
    "dropped_iterations": COUNT,
}
"""Every metric name a budget may use. Request latencies of successful responses only: errors are
counted by name and never pollute a latency distribution (a stalled request is a timeout, not 10 s)."""

STREAM_FORMAT_PREFIX = "stream_format:"
"""Streamed answers are counted per wire format (`stream_format:ai-sdk`), so reports name what was seen."""

SCHEDULED_SUFFIX = "_scheduled"
"""Arrival-rate scenarios also record `<metric>_scheduled`: latency measured from the scheduled
start, so a slow platform cannot hide behind a late schedule (coordinated omission)."""

for _name in [n for n, k in METRICS.items() if k == DURATION and n.endswith("_latency")]:
    METRICS[_name + SCHEDULED_SUFFIX] = DURATION
del _name


def _bucket_of(units: int) -> int:
    """Index of the bucket holding `units`; exact below 2048, 11 significant bits above."""
    if units < _SUB_BUCKET_COUNT:
        return units
    shift = units.bit_length() - SUB_BUCKET_BITS
    return (shift << SUB_BUCKET_BITS) + (units >> shift)


def _bucket_midpoint(index: int) -> float:
    """The value (in micro-units) that stands for every sample in bucket `index`."""
    shift, top = divmod(index, _SUB_BUCKET_COUNT)
    if shift == 0:
        return float(top)
    low = top << shift
    return low + ((1 << shift) - 1) / 2


class Histogram:
    """A log-linear histogram of non-negative values with exact count, sum, min and max."""

    __slots__ = ("buckets", "count", "max", "min", "total")

    def __init__(self) -> None:
        self.buckets: dict[int, int] = {}
        self.count = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def record(self, value: float) -> None:
        """Add one sample (negative values are clamped to 0: clocks can step backwards)."""
        if value < 0:
            value = 0.0
        index = _bucket_of(int(value * _SCALE + 0.5))
        buckets = self.buckets
        buckets[index] = buckets.get(index, 0) + 1
        self.count += 1
        self.total += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def merge(self, other: Histogram) -> None:
        """Add every sample of `other` to this histogram; exact, order does not matter."""
        buckets = self.buckets
        for index, n in other.buckets.items():
            buckets[index] = buckets.get(index, 0) + n
        self.count += other.count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> Histogram:
        clone = Histogram()
        clone.merge(self)
        return clone

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    def value_at_rank(self, rank: int) -> float:
        """The `rank`-th smallest sample (1-based), within the bucket precision.

        The smallest and largest ranks return the exact min and max.
        """
        if not 1 <= rank <= self.count:
            raise ValueError(f"rank {rank} outside 1..{self.count}")
        if rank == 1:
            return self.min
        if rank == self.count:
            return self.max
        seen = 0
        for index, n in self._sorted_buckets():
            seen += n
            if seen >= rank:
                value = _bucket_midpoint(index) / _SCALE
                return min(max(value, self.min), self.max)
        raise AssertionError("unreachable: counts and buckets disagree")

    def percentile(self, percent: float) -> float:
        """Nearest-rank percentile: the smallest sample with at least `percent`% of samples <= it."""
        if not self.count:
            return math.nan
        rank = max(1, math.ceil(percent / 100 * self.count - 1e-9))
        return self.value_at_rank(rank)

    def _sorted_buckets(self) -> Iterator[tuple[int, int]]:
        return iter(sorted(self.buckets.items()))

    def to_wire(self) -> list[Any]:
        """Plain, msgpack-friendly form for worker reports and JSON."""
        return [self.count, self.total, self.min, self.max, [[i, n] for i, n in self.buckets.items()]]

    @classmethod
    def from_wire(cls, wire: list[Any]) -> Histogram:
        histogram = cls()
        histogram.count, histogram.total, histogram.min, histogram.max = wire[0], wire[1], wire[2], wire[3]
        histogram.buckets = {int(i): int(n) for i, n in wire[4]}
        return histogram

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.to_wire()[:4] == other.to_wire()[:4] and self.buckets == other.buckets

    def __repr__(self) -> str:
        return f"Histogram(count={self.count}, min={self.min}, max={self.max})"


@dataclass
class Delta:
    """What one process recorded in one stage since the last drain: histograms and counters."""

    histograms: dict[str, Histogram] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Delta) -> None:
        for name, histogram in other.histograms.items():
            self.histograms.setdefault(name, Histogram()).merge(histogram)
        _add_counts(self.counters, other.counters)
        _add_counts(self.errors, other.errors)

    def is_empty(self) -> bool:
        return not (self.histograms or self.counters or self.errors)

    def to_wire(self) -> dict[str, Any]:
        return {
            "h": {name: h.to_wire() for name, h in self.histograms.items()},
            "c": dict(self.counters),
            "e": dict(self.errors),
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Delta:
        return cls(
            histograms={name: Histogram.from_wire(h) for name, h in wire["h"].items()},
            counters={str(k): int(v) for k, v in wire["c"].items()},
            errors={str(k): int(v) for k, v in wire["e"].items()},
        )


def _add_counts(into: dict[str, int], counts: Mapping[str, int]) -> None:
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n


class Recorder:
    """Per-process sink for samples, kept per stage, drained into an `Aggregate` by the owner.

    `stage` is set by whoever knows the schedule (the profile); samples go into the current one.
    """

    def __init__(self) -> None:
        self.stage = ""
        self._pending: dict[str, Delta] = {}

    def _delta(self) -> Delta:
        delta = self._pending.get(self.stage)
        if delta is None:
            delta = self._pending[self.stage] = Delta()
        return delta

    def observe(self, metric: str, value: float) -> None:
        histograms = self._delta().histograms
        histogram = histograms.get(metric)
        if histogram is None:
            histogram = histograms[metric] = Histogram()
        histogram.record(value)

    def count(self, counter: str, n: int = 1) -> None:
        counters = self._delta().counters
        counters[counter] = counters.get(counter, 0) + n

    def error(self, name: str) -> None:
        errors = self._delta().errors
        errors[name] = errors.get(name, 0) + 1

    def drain(self) -> dict[str, dict[str, Any]]:
        """Hand over everything recorded so far, per stage, in wire form, and start afresh."""
        pending, self._pending = self._pending, {}
        return {stage: delta.to_wire() for stage, delta in pending.items() if not delta.is_empty()}


@dataclass(frozen=True)
class Snapshot:
    """Plain data the verdict and reporters read: no Locust objects, no live references."""

    histograms: Mapping[str, Histogram]
    counters: Mapping[str, int]
    errors: Mapping[str, int]
    stages: Mapping[str, Delta] = field(default_factory=dict)
    incomplete: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)

    def counter(self, name: str) -> int:
        return int(self.counters.get(name, 0))

    def failed(self, shed_counts_as_error: bool = True) -> int:
        """Requests that count as errors (the `error_rate` numerator): hard errors, plus shed ones
        unless the budgets' policy says shedding is not an error. The gate and every reporter use it."""
        return self.counter("errors") + (self.counter("shed") if shed_counts_as_error else 0)


class Aggregate:
    """Merges drained deltas from every process, in arrival order, per stage.

    It also keeps the deltas of the last `RECENT_S` seconds, so live views (the web UI's Budgets
    tab) can show a statistic over a recent window as well as cumulatively.
    """

    RECENT_S = 120.0

    def __init__(self) -> None:
        self.stages: dict[str, Delta] = {}
        self.incomplete: list[str] = []
        self._recent: deque[tuple[float, Delta]] = deque()

    def merge_wire(self, drained: Mapping[str, Mapping[str, Any]], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        arrived = Delta()
        for stage, wire in drained.items():
            delta = Delta.from_wire(wire)
            self.stages.setdefault(stage, Delta()).merge(delta)
            arrived.merge(delta)
        if not arrived.is_empty():
            self._recent.append((now, arrived))
        while self._recent and self._recent[0][0] < now - self.RECENT_S:
            self._recent.popleft()

    def window(self, seconds: float, now: float | None = None) -> Snapshot:
        """What arrived in the last `seconds` (at most RECENT_S), as a snapshot without stages."""
        now = time.monotonic() if now is None else now
        recent = Delta()
        for arrived_at, delta in self._recent:
            if arrived_at >= now - seconds:
                recent.merge(delta)
        return Snapshot(histograms=recent.histograms, counters=recent.counters, errors=recent.errors)

    def total(self) -> Delta:
        whole = Delta()
        for delta in self.stages.values():
            whole.merge(delta)
        return whole

    def snapshot(self, meta: Mapping[str, Any] | None = None) -> Snapshot:
        whole = self.total()
        stages = {}
        for name, delta in self.stages.items():
            copy = Delta()
            copy.merge(delta)
            stages[name] = copy
        return Snapshot(
            histograms=whole.histograms,
            counters=whole.counters,
            errors=whole.errors,
            stages=stages,
            incomplete=tuple(self.incomplete),
            meta=dict(meta or {}),
        )


@dataclass(slots=True)
class Sample:
    """One classified request, as the traffic layer hands it to the recorder.

    `outcome` is "ok", "error" or "shed". Only successful requests feed latency distributions;
    TTFT is kept even for a stream that broke after its first token. Built once per request on the
    hot path, so it is a slotted dataclass (a frozen one costs a setattr call per field).
    """

    metric: str
    latency_ms: float
    outcome: str
    failure: str | None = None
    status: int = 0
    ttft_ms: float | None = None
    inter_token_ms: tuple[float, ...] = ()
    output_tokens: int | None = None
    tokens_per_second: float | None = None
    schedule_lag_ms: float | None = None
    stream_format: str | None = None


def record_sample(recorder: Recorder, sample: Sample) -> None:
    """Turn one sample into histogram values and counters: the only place that mapping lives."""
    recorder.count("requests")
    if sample.outcome == "ok":
        recorder.observe(sample.metric, sample.latency_ms)
        if sample.schedule_lag_ms is not None:
            recorder.observe(sample.metric + SCHEDULED_SUFFIX, sample.latency_ms + sample.schedule_lag_ms)
        if sample.output_tokens is not None:
            recorder.observe("chat_output_tokens", sample.output_tokens)
        if sample.tokens_per_second is not None:
            recorder.observe("chat_tokens_per_second", sample.tokens_per_second)
        for gap in sample.inter_token_ms:
            recorder.observe("chat_inter_token_latency", gap)
    else:
        recorder.count("shed" if sample.outcome == "shed" else "errors")
        recorder.error(sample.failure or "unknown")
        if sample.outcome == "error" and 500 <= sample.status <= 599:
            recorder.count("http_5xx")
    if sample.ttft_ms is not None:
        recorder.observe("chat_time_to_first_token", sample.ttft_ms)
    if sample.schedule_lag_ms is not None:
        recorder.observe("iteration_schedule_lag", sample.schedule_lag_ms)
    if sample.stream_format is not None:
        recorder.count(STREAM_FORMAT_PREFIX + sample.stream_format)
