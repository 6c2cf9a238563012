"""Which scheduled iteration the running greenlet belongs to, if any.

The arrival-rate executor runs each iteration in a greenlet of its own and notes when it was due;
anything that sends a request in that greenlet (the suite's API, or a plain `self.client.get`)
can then also measure latency from the scheduled start, which a slow platform cannot hide
(coordinated omission). Closed-loop users never set it.
"""

from __future__ import annotations

from gevent.local import local


class _Iteration(local):
    """Greenlet-local; the class default answers for greenlets that never began an iteration.

    Read on every request: a default found on the class costs far less than `getattr(..., None)`
    on a missing greenlet-local attribute, which raises and catches an AttributeError.
    """

    scheduled_at: float | None = None


_current = _Iteration()


def scheduled_start() -> float | None:
    """The `perf_counter` time the current iteration was due, or None outside an arrival iteration."""
    return _current.scheduled_at


def begin_iteration(scheduled_at: float) -> None:
    """Mark the current greenlet as the iteration due at `scheduled_at` (set by the executor)."""
    _current.scheduled_at = scheduled_at
