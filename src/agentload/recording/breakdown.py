"""Where the time of the slow requests went: per-metric component sums, bucketed by total latency.

Every successful request whose response carried `Server-Timing` adds its total latency and its
parts to one bucket of its metric's `Breakdown`: the server's components (`queue`, `cache`, `llm`,
`db`, `tool`, or whatever the target names), `other` (server time no component claims:
`app` minus the components) and `client` (the rest of the request as the generator saw it: total
minus `app`, i.e. network, connection set-up and the generator's own delay). Buckets are
1/16 octave (about 4.4%) wide on the total, so a breakdown holds at most a few hundred buckets
whatever the run's length, merges by addition (exactly, in any order, across workers), and can
answer "of the requests at or above X ms, what share of their time went to each part" once X is
known at the end (the observed P95 of a failing budget), at the cost of X's own bucket edge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BUCKETS_PER_OCTAVE = 16
CLIENT = "client"
OTHER = "other"
NOT_COMPONENTS = frozenset({"app", "ttft", "total"})
"""Server-Timing entries that are not parts of the server's time: its total and its first token."""


def bucket_of(total_ms: float) -> int:
    """The bucket index of a total latency (bucket k holds [2^(k/16), 2^((k+1)/16)) ms)."""
    return math.floor(math.log2(max(total_ms, 1e-3)) * BUCKETS_PER_OCTAVE)


def parts_of(total_ms: float, timings: Mapping[str, float]) -> dict[str, float]:
    """The request's time in parts that add up to `total_ms`: components, `other`, `client`."""
    parts = {name: ms for name, ms in timings.items() if name not in NOT_COMPONENTS}
    server = timings.get("app")
    if server is None:
        return parts
    parts[OTHER] = max(0.0, server - sum(parts.values()))
    parts[CLIENT] = max(0.0, total_ms - server)
    return parts


def with_server_total(parts: Mapping[str, float], timings: Mapping[str, float]) -> dict[str, float]:
    """The values recorded as `<metric>.<part>`: the parts, plus `app` (the server's total) if sent."""
    return {**parts, "app": timings["app"]} if "app" in timings else dict(parts)


@dataclass
class Breakdown:
    """Per bucket of total latency: [requests, sum of totals, {part: sum of ms}]."""

    buckets: dict[int, list[Any]] = field(default_factory=dict)

    def add(self, total_ms: float, parts: Mapping[str, float]) -> None:
        key = bucket_of(total_ms)
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = [0, 0.0, {}]
        bucket[0] += 1
        bucket[1] += total_ms
        sums = bucket[2]
        for name, ms in parts.items():
            sums[name] = sums.get(name, 0.0) + ms

    def merge(self, other: Breakdown) -> None:
        for key, (count, total, sums) in other.buckets.items():
            bucket = self.buckets.setdefault(key, [0, 0.0, {}])
            bucket[0] += count
            bucket[1] += total
            for name, ms in sums.items():
                bucket[2][name] = bucket[2].get(name, 0.0) + ms

    def tail(self, at_least_ms: float) -> TailParts:
        """The requests in the bucket of `at_least_ms` and above, with their summed parts."""
        first = bucket_of(at_least_ms)
        count, total, sums = 0, 0.0, {}
        for key, (n, bucket_total, bucket_sums) in self.buckets.items():
            if key < first:
                continue
            count += n
            total += bucket_total
            for name, ms in bucket_sums.items():
                sums[name] = sums.get(name, 0.0) + ms
        return TailParts(count, total, sums, 2.0 ** (first / BUCKETS_PER_OCTAVE))

    def to_wire(self) -> list[list[Any]]:
        return [[key, n, total, dict(sums)] for key, (n, total, sums) in self.buckets.items()]

    @classmethod
    def from_wire(cls, wire: list[list[Any]]) -> Breakdown:
        return cls(
            {int(k): [int(n), float(t), {str(a): float(b) for a, b in s.items()}] for k, n, t, s in wire}
        )


@dataclass(frozen=True)
class TailParts:
    """Summed time of a set of requests: how many, their total, and per part."""

    requests: int
    total_ms: float
    parts_ms: Mapping[str, float]
    from_ms: float = 0.0
    """The lower edge of the first bucket taken: every request counted took at least this long."""
