"""Per-interval aggregation of request samples into InfluxDB line-protocol points (pure, no I/O).

A load test at 1,000 requests/s would write 1,000 points/s if every request were a point; the
dashboard only needs per-second statistics, so the request listener adds each sample to an
in-memory cell (one per scenario, metric and status class: O(1), an exact log-linear `Histogram`
for the percentiles) and once per interval `IntervalAggregator.drain` turns the cells into a
handful of points. The schema is fixed, as the Grafana dashboard is built against it:

* `agentload_requests` tags run_id, profile, scenario, metric, status_class (ok|error|shed), worker;
  fields count, latency_ms_mean/p50/p95/p99/max, bytes, tokens, ttft_ms_p95 (only with TTFTs).
* `agentload_parts` tags run_id, profile, scenario, metric, part, worker; fields count and
  latency_ms_mean/p50/p95/p99/max: a successful request's `Server-Timing` parts (and `client`, the
  rest of its latency). They are kept apart so that summing `agentload_requests.count` counts
  requests, never their parts.
* `agentload_users` tags run_id, profile, worker; fields users, arrival_rate, dropped_iterations.
* `agentload_failures` tags run_id, profile, metric, failure, worker; field count.
* `agentload_generator` tags run_id, profile, worker; fields loop_lag_ms_p99, loop_lag_ms_max and
  cpu_percent_max: the load-sending process's own health in the interval (`recording/generator`).

`OutBuffer` holds finished lines for the writer, bounded; when full it drops the oldest and counts.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from agentload.recording.breakdown import parts_of, with_server_total
from agentload.recording.histogram import Histogram
from agentload.recording.samples import Sample

REQUESTS = "agentload_requests"
USERS = "agentload_users"
FAILURES = "agentload_failures"
PARTS = "agentload_parts"
GENERATOR = "agentload_generator"
STATUS_CLASSES = ("ok", "error", "shed")

_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\ ", "\r": r"\ ", "\\": "/"})
_MEASUREMENT_ESCAPES = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\ ", "\r": r"\ "})


def escape_tag(text: str) -> str:
    """A tag key or value (or field key) in line protocol: commas, equals signs and spaces escaped.

    Line protocol has no empty tag values and no newlines: blanks become "none", newlines spaces,
    and a backslash (which could escape the separator after it) becomes "/".
    """
    return str(text).translate(_TAG_ESCAPES) or "none"


def format_line(
    measurement: str, tags: Mapping[str, str], fields: Mapping[str, int | float], timestamp_ms: int
) -> str:
    """One point; ints get the `i` suffix, non-finite floats are left out (Influx rejects them)."""
    tag_part = ",".join(f"{escape_tag(k)}={escape_tag(v)}" for k, v in sorted(tags.items()))
    field_parts = []
    for key, value in fields.items():
        if isinstance(value, int):  # bool is an int too
            field_parts.append(f"{escape_tag(key)}={int(value)}i")
        elif math.isfinite(value):
            field_parts.append(f"{escape_tag(key)}={float(value)!r}")
    if not field_parts:
        raise ValueError(f"point {measurement} has no finite field")
    head = measurement.translate(_MEASUREMENT_ESCAPES) + ("," + tag_part if tag_part else "")
    return f"{head} {','.join(field_parts)} {timestamp_ms}"


def status_class(outcome: str) -> str:
    return outcome if outcome in STATUS_CLASSES else "error"


class _Cell:
    """What one (scenario, metric, status class) did in the current interval."""

    __slots__ = ("bytes", "latency", "tokens", "ttft")

    def __init__(self) -> None:
        self.latency = Histogram()
        self.bytes = 0
        self.tokens = 0
        self.ttft: Histogram | None = None

    def fields(self) -> dict[str, int | float]:
        fields = {**latency_fields(self.latency), "bytes": self.bytes, "tokens": self.tokens}
        if self.ttft is not None:
            fields["ttft_ms_p95"] = self.ttft.percentile(95)
        return fields


def latency_fields(latency: Histogram) -> dict[str, int | float]:
    """Count and latency statistics of one interval's histogram."""
    return {
        "count": latency.count,
        "latency_ms_mean": latency.mean,
        "latency_ms_p50": latency.percentile(50),
        "latency_ms_p95": latency.percentile(95),
        "latency_ms_p99": latency.percentile(99),
        "latency_ms_max": latency.max,
    }


def generator_fields(health: Mapping[str, Histogram]) -> dict[str, int | float]:
    """The interval's loop lag P99 and max (ms) and CPU max (%), of whichever the probe measured."""
    fields: dict[str, int | float] = {}
    lag, cpu = health.get("generator_loop_lag"), health.get("generator_cpu")
    if lag is not None and lag.count:
        fields.update(loop_lag_ms_p99=lag.percentile(99), loop_lag_ms_max=lag.max)
    if cpu is not None and cpu.count:
        fields["cpu_percent_max"] = cpu.max
    return fields


@dataclass(frozen=True)
class RunTags:
    """The tags every point of one process carries, fixed per drain."""

    run_id: str
    profile: str
    worker: str


class IntervalAggregator:
    """Collects samples between two drains; every `add_*` is O(1) and allocation-light."""

    def __init__(self) -> None:
        self._cells: dict[tuple[str, str, str], _Cell] = {}
        self._parts: dict[tuple[str, str, str], Histogram] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self.iterations = 0
        self.dropped_iterations = 0
        self._generator: dict[str, Histogram] = {}

    def add_generator(self, metric: str, value: float) -> None:
        """One value of the generator's health probe (loop lag in ms, or CPU percent)."""
        histogram = self._generator.get(metric)
        if histogram is None:
            histogram = self._generator[metric] = Histogram()
        histogram.record(value)

    def add_sample(self, scenario: str, sample: Sample, response_length: int = 0) -> None:
        """One request, classified by the traffic layer; closed-loop requests are one iteration each."""
        klass = status_class(sample.outcome)
        cell = self._cell(scenario, sample.metric, klass)
        cell.latency.record(sample.latency_ms)
        cell.bytes += response_length if response_length > 0 else 0
        if sample.output_tokens:
            cell.tokens += sample.output_tokens
        if sample.ttft_ms is not None:
            if cell.ttft is None:
                cell.ttft = Histogram()
            cell.ttft.record(sample.ttft_ms)
        if klass != "ok":
            self.add_failure(sample.metric, sample.failure or "unknown")
        elif sample.server_timing:
            self._add_parts(scenario, sample)
        if sample.schedule_lag_ms is None:
            self.iterations += 1

    def _add_parts(self, scenario: str, sample: Sample) -> None:
        """Each Server-Timing part of the request, as the recorder keeps it."""
        timings = sample.server_timing or {}
        for part, ms in with_server_total(parts_of(sample.latency_ms, timings), timings).items():
            key = (scenario, sample.metric, part)
            histogram = self._parts.get(key)
            if histogram is None:
                histogram = self._parts[key] = Histogram()
            histogram.record(ms)

    def add_failure(self, metric: str, failure: str) -> None:
        key = (metric, failure)
        self._failures[key] = self._failures.get(key, 0) + 1

    def _cell(self, scenario: str, metric: str, klass: str) -> _Cell:
        key = (scenario, metric, klass)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        return cell

    def drain(self, tags: RunTags, timestamp_ms: int, interval_s: float, users: int | None) -> list[str]:
        """The interval's points (requests, failures, then users when `users` is known); starts afresh."""
        cells, self._cells = self._cells, {}
        parts, self._parts = self._parts, {}
        failures, self._failures = self._failures, {}
        iterations, self.iterations = self.iterations, 0
        dropped, self.dropped_iterations = self.dropped_iterations, 0
        health, self._generator = self._generator, {}
        base = {"run_id": tags.run_id, "profile": tags.profile, "worker": tags.worker}
        lines = [
            format_line(
                REQUESTS, {**base, "scenario": s, "metric": m, "status_class": k}, c.fields(), timestamp_ms
            )
            for (s, m, k), c in sorted(cells.items())
        ]
        lines += [
            format_line(
                PARTS, {**base, "scenario": s, "metric": m, "part": part}, latency_fields(h), timestamp_ms
            )
            for (s, m, part), h in sorted(parts.items())
        ]
        lines += [
            format_line(FAILURES, {**base, "metric": m, "failure": f}, {"count": n}, timestamp_ms)
            for (m, f), n in sorted(failures.items())
        ]
        if health:
            lines.append(format_line(GENERATOR, base, generator_fields(health), timestamp_ms))
        if users is not None:
            rate = iterations / interval_s if interval_s > 0 else 0.0
            fields = {"users": users, "arrival_rate": rate, "dropped_iterations": dropped}
            lines.append(format_line(USERS, base, fields, timestamp_ms))
        return lines


class OutBuffer:
    """Lines waiting to be written, at most `max_points`; overflow drops the oldest and counts them."""

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self._lines: deque[str] = deque()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._lines)

    def extend(self, lines: Iterable[str]) -> None:
        self._lines.extend(lines)
        overflow = len(self._lines) - self.max_points
        for _ in range(max(0, overflow)):
            self._lines.popleft()
        self.dropped += max(0, overflow)

    def take(self, n: int) -> list[str]:
        """Remove and return the oldest `n` lines (a batch to write)."""
        lines = self._lines
        return [lines.popleft() for _ in range(min(n, len(lines)))]

    def put_back(self, batch: list[str]) -> None:
        """Return a batch that could not be written to the front; if that overflows, the oldest go."""
        self._lines.extendleft(reversed(batch))
        self.extend(())

    def discard_all(self) -> int:
        """Drop everything (at quit, when the server cannot take it); returns and counts how many."""
        n = len(self._lines)
        self._lines.clear()
        self.dropped += n
        return n
