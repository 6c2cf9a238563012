"""Which scheduled iteration the running greenlet belongs to, if any.

The arrival-rate executor runs each iteration in a greenlet of its own and notes when it was due;
anything that sends a request in that greenlet (the suite's API, or a plain `self.client.get`)
can then also measure latency from the scheduled start, which a slow platform cannot hide
(coordinated omission). Closed-loop users never set it.
"""

from __future__ import annotations

from gevent.local import local

_current = local()


def scheduled_start() -> float | None:
    """The `perf_counter` time the current iteration was due, or None outside an arrival iteration."""
    return getattr(_current, "scheduled_at", None)


def begin_iteration(scheduled_at: float) -> None:
    """Mark the current greenlet as the iteration due at `scheduled_at` (set by the executor)."""
    _current.scheduled_at = scheduled_at
