"""The N slowest requests of each latency metric, with what is needed to find them in traces.

Each process keeps, per metric, the N slowest successful requests it saw (default 10): latency,
`X-Trace-Id`, wall-clock start, status, the process that sent it (worker id, or "local") and the
`Server-Timing` entries. A top-N list merges exactly: the N slowest of the union of lists is the N
slowest of the N slowest of each, so workers ship their lists with their deltas and the master's
list is the run's, in bounded memory. Ties are broken by start time then trace id, so the result
does not depend on arrival order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_KEEP = 10


@dataclass(frozen=True, order=True)
class Exemplar:
    """One slow request, as reports show it."""

    latency_ms: float
    started_at: float = 0.0
    trace_id: str = ""
    status: int = 0
    worker: str = ""
    server_timing: Mapping[str, float] = field(default_factory=dict, compare=False)

    def to_wire(self) -> dict[str, Any]:
        return {**asdict(self), "server_timing": dict(self.server_timing)}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Exemplar:
        return cls(
            latency_ms=float(wire["latency_ms"]),
            started_at=float(wire.get("started_at") or 0.0),
            trace_id=str(wire.get("trace_id") or ""),
            status=int(wire.get("status") or 0),
            worker=str(wire.get("worker") or ""),
            server_timing={str(k): float(v) for k, v in (wire.get("server_timing") or {}).items()},
        )


@dataclass
class Slowest:
    """A bounded min-heap of the slowest requests; `floor` is the latency a newcomer must beat."""

    keep: int = DEFAULT_KEEP
    heap: list[Exemplar] = field(default_factory=list)

    @property
    def floor(self) -> float:
        return self.heap[0].latency_ms if len(self.heap) >= self.keep else -1.0

    def offer(self, exemplar: Exemplar) -> None:
        if len(self.heap) < self.keep:
            heapq.heappush(self.heap, exemplar)
        elif exemplar > self.heap[0]:
            heapq.heapreplace(self.heap, exemplar)

    def merge(self, other: Slowest) -> None:
        self.keep = max(self.keep, other.keep)
        for exemplar in other.heap:
            self.offer(exemplar)

    def ranked(self) -> list[Exemplar]:
        """Slowest first."""
        return sorted(self.heap, reverse=True)

    def to_wire(self) -> dict[str, Any]:
        return {"keep": self.keep, "items": [e.to_wire() for e in self.heap]}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Slowest:
        slowest = cls(keep=int(wire.get("keep") or DEFAULT_KEEP))
        for item in wire.get("items", ()):
            slowest.offer(Exemplar.from_wire(item))
        return slowest


def top(exemplars: Iterable[Exemplar], keep: int) -> list[Exemplar]:
    """The `keep` slowest of `exemplars`, slowest first (what any merge order must produce)."""
    return heapq.nlargest(keep, exemplars)
