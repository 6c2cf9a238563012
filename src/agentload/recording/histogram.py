"""Exact, bounded, mergeable histograms: what every latency and number sample is recorded in.

Locust rounds response times into buckets before it computes percentiles (10 ms steps between
100 ms and 1 s, 100 ms steps above), which turns a 1,460 ms P95 into 1,500 ms. A budget gate cannot
work on that, so every sample is also recorded here, in an HDR-style log-linear histogram:

* values are kept in micro-units (µs for durations) with 11 significant bits, so any value is
  stored within 1/2048 (< 0.05%) of itself: the error bound is 0.1% from 1 µs to days;
* memory is bounded by the number of distinct buckets (at most ~1,000 per power of two), never
  by the number of samples;
* two histograms merge exactly by adding their bucket counts, which is what distributed runs need.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

SUB_BUCKET_BITS = 11
_SUB_BUCKET_COUNT = 1 << SUB_BUCKET_BITS
_SCALE = 1000  # micro-units per unit: µs per ms for durations


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

    def count_at_most(self, value: float) -> int:
        """How many samples are <= `value`, within the bucket precision (exact at min and max)."""
        if not self.count or value < self.min:
            return 0
        if value >= self.max:
            return self.count
        last = _bucket_of(int(value * _SCALE + 0.5))
        return sum(n for index, n in self.buckets.items() if index <= last)

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

