"""Per-process recording and run-wide merging: `Recorder` → drained deltas → `Aggregate` → `Snapshot`.

A `Recorder` lives in every process and holds what was recorded since it was last drained, per
part of the run: the profile stage and the time-window slot (`recording/windows.py`); an
`Aggregate` (on the master, or the local runner) merges drained deltas in wire form and produces
`Snapshot`s, the plain data the verdict and the reporters read.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentload.recording.breakdown import Breakdown
from agentload.recording.exemplars import DEFAULT_KEEP, Exemplar, Slowest
from agentload.recording.histogram import Histogram


@dataclass
class Delta:
    """What one process recorded in one stage since the last drain.

    Histograms and counters, plus per latency metric the component sums of its requests by total
    latency (`breakdowns`) and its slowest requests (`slowest`); all of it merges exactly.
    """

    histograms: dict[str, Histogram] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    slowest: dict[str, Slowest] = field(default_factory=dict)

    def merge(self, other: Delta) -> None:
        for name, histogram in other.histograms.items():
            self.histograms.setdefault(name, Histogram()).merge(histogram)
        _add_counts(self.counters, other.counters)
        _add_counts(self.errors, other.errors)
        for name, breakdown in other.breakdowns.items():
            self.breakdowns.setdefault(name, Breakdown()).merge(breakdown)
        for name, slowest in other.slowest.items():
            self.slowest.setdefault(name, Slowest(slowest.keep)).merge(slowest)

    def is_empty(self) -> bool:
        return not (self.histograms or self.counters or self.errors or self.breakdowns or self.slowest)

    def to_wire(self) -> dict[str, Any]:
        return {
            "h": {name: h.to_wire() for name, h in self.histograms.items()},
            "c": dict(self.counters),
            "e": dict(self.errors),
            "b": {name: b.to_wire() for name, b in self.breakdowns.items()},
            "x": {name: x.to_wire() for name, x in self.slowest.items()},
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Delta:
        return cls(
            histograms={name: Histogram.from_wire(h) for name, h in wire["h"].items()},
            counters={str(k): int(v) for k, v in wire["c"].items()},
            errors={str(k): int(v) for k, v in wire["e"].items()},
            breakdowns={name: Breakdown.from_wire(b) for name, b in wire.get("b", {}).items()},
            slowest={name: Slowest.from_wire(x) for name, x in wire.get("x", {}).items()},
        )


def _add_counts(into: dict[str, int], counts: Mapping[str, int]) -> None:
    for key, n in counts.items():
        into[key] = into.get(key, 0) + n


Part = tuple[str, float]
"""Where a delta is filed: (profile stage, time-window slot), the slot being the window boundary
(seconds on the profile's clock) last passed, 0.0 before the first one."""


class Recorder:
    """Per-process sink for samples, kept per stage and window slot, drained into an `Aggregate`.

    `stage` is set by whoever knows the schedule (the profile), `slot` by the window timer
    (`recording/windows.py`); samples go into the current part. The current part's delta is
    cached, so the hot path pays one attribute read, whatever the number of parts.
    """

    def __init__(self, source: str = "local", keep: int = DEFAULT_KEEP) -> None:
        self._stage = ""
        self._slot = 0.0
        self.source = source
        """Who records here: "local", or the worker's client id (named with each slow request)."""
        self.keep = keep
        self._pending: dict[Part, Delta] = {}
        self._current: Delta | None = None

    @property
    def stage(self) -> str:
        return self._stage

    @stage.setter
    def stage(self, stage: str) -> None:
        if stage != self._stage:
            self._stage, self._current = stage, None

    @property
    def slot(self) -> float:
        return self._slot

    @slot.setter
    def slot(self, slot: float) -> None:
        if slot != self._slot:
            self._slot, self._current = slot, None

    def _delta(self) -> Delta:
        delta = self._current
        if delta is None:
            delta = self._current = self._pending.setdefault((self._stage, self._slot), Delta())
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

    def breakdown(self, metric: str, total_ms: float, parts: Mapping[str, float]) -> None:
        breakdowns = self._delta().breakdowns
        breakdown = breakdowns.get(metric)
        if breakdown is None:
            breakdown = breakdowns[metric] = Breakdown()
        breakdown.add(total_ms, parts)

    def slow_request(
        self,
        metric: str,
        latency_ms: float,
        started_at: float,
        trace_id: str,
        status: int,
        server_timing: Mapping[str, float],
    ) -> None:
        """Keep the request if it is among the `keep` slowest of `metric` in this stage so far."""
        slowest = self._delta().slowest
        kept = slowest.get(metric)
        if kept is None:
            kept = slowest[metric] = Slowest(self.keep)
        if latency_ms > kept.floor:
            kept.offer(Exemplar(latency_ms, started_at, trace_id, status, self.source, server_timing))

    def drain_deltas(self) -> dict[Part, Delta]:
        """Hand over everything recorded so far, per (stage, slot), and start afresh (the local
        runner's flush: no wire form, whose per-bucket lists cost a busy loop ~20 ms a second)."""
        pending, self._pending, self._current = self._pending, {}, None
        return {part: delta for part, delta in pending.items() if not delta.is_empty()}

    def drain(self) -> dict[str, dict[str, Any]]:
        """The same in wire form, {stage: {slot: delta}}, for a worker's report to its master.

        The slot is a string (`repr` of its float, exact): msgpack maps want string keys."""
        drained: dict[str, dict[str, Any]] = {}
        for (stage, slot), delta in self.drain_deltas().items():
            drained.setdefault(stage, {})[repr(slot)] = delta.to_wire()
        return drained


@dataclass(frozen=True)
class Snapshot:
    """Plain data the verdict and reporters read: no Locust objects, no live references."""

    histograms: Mapping[str, Histogram]
    counters: Mapping[str, int]
    errors: Mapping[str, int]
    stages: Mapping[str, Delta] = field(default_factory=dict)
    slots: Mapping[Part, Delta] = field(default_factory=dict)
    """Each (stage, window slot)'s own delta, for budgets on a time window (`after: 60s`)."""
    incomplete: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    breakdowns: Mapping[str, Breakdown] = field(default_factory=dict)
    slowest: Mapping[str, Slowest] = field(default_factory=dict)

    def counter(self, name: str) -> int:
        return int(self.counters.get(name, 0))

    def failed(self, shed_counts_as_error: bool = True) -> int:
        """Requests that count as errors (the `error_rate` numerator): hard errors, plus shed ones
        unless the budgets' policy says shedding is not an error. The gate and every reporter use it."""
        return self.counter("errors") + (self.counter("shed") if shed_counts_as_error else 0)


class Aggregate:
    """Merges drained deltas from every process, in arrival order, per stage and window slot.

    It also keeps the deltas of the last `RECENT_S` seconds, so live views (the web UI's Budgets
    tab) can show a statistic over a recent window as well as cumulatively.
    """

    RECENT_S = 120.0

    def __init__(self) -> None:
        self.parts: dict[Part, Delta] = {}
        self.incomplete: list[str] = []
        self._recent: deque[tuple[float, Delta]] = deque()

    def merge_wire(self, drained: Mapping[str, Mapping[str, Any]], now: float | None = None) -> None:
        deltas = {
            (stage, float(slot)): Delta.from_wire(wire)
            for stage, slots in drained.items()
            for slot, wire in slots.items()
        }
        self.merge_deltas(deltas, now)

    def merge_deltas(self, drained: Mapping[Part, Delta], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        arrived = Delta()
        for part, delta in drained.items():
            self.parts.setdefault(part, Delta()).merge(delta)
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
        return snapshot_of(recent)

    @property
    def stages(self) -> dict[str, Delta]:
        """Each stage's delta, its window slots merged (fresh copies)."""
        stages: dict[str, Delta] = {}
        for (stage, _), delta in self.parts.items():
            stages.setdefault(stage, Delta()).merge(delta)
        return stages

    def total(self) -> Delta:
        whole = Delta()
        for delta in self.parts.values():
            whole.merge(delta)
        return whole

    def snapshot(self, meta: Mapping[str, Any] | None = None) -> Snapshot:
        stages = self.stages
        whole = Delta()
        for delta in stages.values():
            whole.merge(delta)
        slots = {}
        for part, delta in self.parts.items():
            slots[part] = copy = Delta()
            copy.merge(delta)
        return Snapshot(
            histograms=whole.histograms,
            counters=whole.counters,
            errors=whole.errors,
            stages=stages,
            slots=slots,
            incomplete=tuple(self.incomplete),
            meta=dict(meta or {}),
            breakdowns=whole.breakdowns,
            slowest=whole.slowest,
        )


def snapshot_of(delta: Delta, meta: Mapping[str, Any] | None = None) -> Snapshot:
    """One delta (a stage's, a window's) as a snapshot without stages."""
    return Snapshot(
        histograms=delta.histograms,
        counters=delta.counters,
        errors=delta.errors,
        meta=dict(meta or {}),
        breakdowns=delta.breakdowns,
        slowest=delta.slowest,
    )
