"""Request counters of the reference platform, served by ``GET /_admin/stats``.

Tests and benchmarks need the server's own view of what happened (how many 429s it sent, how many
streams it truncated, how many requests it stalled) to check the load generator's numbers against it.
Every API request is counted once when it is answered, under its status code; faults that produce no
status are counted under ``stalled``/``reset``, client disconnects before an answer under
``cancelled``, and truncated answers both as ``200`` and ``truncated``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any


class Stats:
    """Per-endpoint counters plus the number of requests currently in flight."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.in_flight = 0
        self._counts: defaultdict[str, Counter[str]] = defaultdict(Counter)

    def count(self, endpoint: str, key: str | int) -> None:
        """Add one under ``endpoint`` / ``key`` (a status code or an outcome name)."""
        self._counts[endpoint][str(key)] += 1

    def reset(self) -> None:
        """Zero every counter (``in_flight`` is live state and is kept)."""
        self._counts.clear()
        self.started = time.monotonic()

    def uptime_s(self) -> float:
        """Seconds since start or the last reset."""
        return time.monotonic() - self.started

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready copy: ``{"requests": {endpoint: {key: n}}, "totals": {key: n}, "in_flight": n}``."""
        totals: Counter[str] = Counter()
        for counter in self._counts.values():
            totals.update(counter)
        return {
            "requests": {endpoint: dict(counter) for endpoint, counter in self._counts.items()},
            "totals": dict(totals),
            "in_flight": self.in_flight,
            "since_s": round(self.uptime_s(), 3),
        }
