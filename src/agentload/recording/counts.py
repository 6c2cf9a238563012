"""How error, shed and request counts are read from a snapshot, the same way the gate reads them.

The console, the Markdown summary, the JSON report and the stress analysis all need "errors per
request"; deriving them in one place keeps the reporters from drifting apart and from the
verdict. The convention is the one `agentload.budgets.evaluate` uses: `requests` counts every
attempted request (failed and shed ones included), the `errors` counter counts hard failures and
the `shed` counter counts load shedding (429, or 503 with Retry-After), which the traffic layer
names `shed: ...` in the per-name failure table. The counters are the truth; `Snapshot.failed`
holds the one definition of "failed" that the gate uses too.
"""

from __future__ import annotations

from agentload.recording.recorder import Snapshot
from agentload.recording.samples import STREAM_FORMAT_PREFIX


def is_shed(failure: str) -> bool:
    """True for a failure name that records load shedding (`shed: http 429`)."""
    return failure.strip().lower().startswith("shed")


def ratio(numerator: float, denominator: float) -> float | None:
    """`numerator / denominator`, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


def hard_errors(snapshot: Snapshot) -> dict[str, int]:
    """Non-shed failures by name, largest first (ties by name)."""
    pairs = [(name, n) for name, n in snapshot.errors.items() if not is_shed(name) and n]
    return dict(sorted(pairs, key=lambda pair: (-pair[1], pair[0])))


def hard_error_count(snapshot: Snapshot) -> int:
    """Failed requests that were not shed (the `errors` counter)."""
    return snapshot.counter("errors")


def shed_count(snapshot: Snapshot) -> int:
    """Requests refused by load shedding (the `shed` counter)."""
    return snapshot.counter("shed")


def error_rate(snapshot: Snapshot, *, shed_counts_as_error: bool = True) -> float | None:
    """The `error_rate` metric: failed requests per request (None without requests)."""
    return ratio(snapshot.failed(shed_counts_as_error), snapshot.counter("requests"))


def stream_formats(snapshot: Snapshot) -> dict[str, int]:
    """Streamed answers per wire format seen (`{"ai-sdk": 120}`), most first (ties by name)."""
    pairs = [
        (name.removeprefix(STREAM_FORMAT_PREFIX), int(n))
        for name, n in snapshot.counters.items()
        if name.startswith(STREAM_FORMAT_PREFIX) and n
    ]
    return dict(sorted(pairs, key=lambda pair: (-pair[1], pair[0])))
