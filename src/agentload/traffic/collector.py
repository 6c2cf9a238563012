"""Garbage collection kept off the streaming path of a process that sends load.

A stream's objects die by reference counting: a chat run at 1,000 streams collected no cyclic
garbage at all in 204 collections (`benchmarks/probe.py` counts them). Yet CPython's collector
runs every 700 net container allocations, and the thousands of live users, sockets and parsers it
scans make each run long: at 3,000 streams one core spent 1.3 s of 10 s in 246 collections, the
longest 204 ms, and every stream waiting on the loop then was timed that much late.

So while a test runs, each process that sends load:
* raises the young generation's threshold to `YOUNG_THRESHOLD` (cyclic garbage, which is rare,
  is still collected, just in larger, fewer rounds);
* moves everything alive once spawning completes into the permanent generation (`gc.freeze()`),
  so later full collections do not scan the users again. When users were stopped since the last
  freeze (a ramp down), their objects are unfrozen and collected first, once, so nothing leaks;
* then scales the young threshold with the users (`YOUNG_PER_USER` each). A young collection
  scans every young object alive, and each request in flight keeps about 60 (its response,
  parser, decoder, timers): at 4,000 streams 231,000 of them, so every young collection took
  110-150 ms, however rare, and timed every stream waiting on it that much late. Streams leave no
  garbage, so between spawns the count of net allocations barely moves: scaled, the threshold is
  reached only when cyclic garbage (failed requests' tracebacks) really piles up.

At test stop the thresholds are restored and everything is unfrozen. `AGENTLOAD_GC_TUNING=false`
turns this off (to measure what it buys: `make bench` item 4).
"""

from __future__ import annotations

import gc
from typing import Any

YOUNG_THRESHOLD = 50_000
"""Net container allocations between young collections (CPython's default: 700)."""
YOUNG_PER_USER = 250
"""Once users are spawned, the young threshold is at least this many net allocations per user."""


class Collector:
    """The collector policy of one load-sending process, bound to Locust's test events."""

    def __init__(self) -> None:
        self._saved: tuple[int, ...] | None = None
        self._frozen_users = 0

    def on_test_start(self, **_: Any) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(YOUNG_THRESHOLD, *self._saved[1:])

    def on_spawning_complete(self, user_count: int = 0, **_: Any) -> None:
        if user_count < self._frozen_users:  # users were stopped: let their objects go first
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        self._frozen_users = user_count
        if self._saved is not None:
            gc.set_threshold(young_threshold(user_count), *self._saved[1:])

    def on_test_stop(self, **_: Any) -> None:
        gc.unfreeze()
        self._frozen_users = 0
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None


def young_threshold(users: int) -> int:
    """The young generation's threshold for a process running `users` users."""
    return max(YOUNG_THRESHOLD, YOUNG_PER_USER * users)


def install(environment: Any, enabled: bool = True) -> Collector | None:
    """Apply the policy in this process from test start to test stop (a process that sends load)."""
    if not enabled:
        return None
    collector = Collector()
    environment.events.test_start.add_listener(collector.on_test_start)
    environment.events.spawning_complete.add_listener(collector.on_spawning_complete)
    environment.events.test_stop.add_listener(collector.on_test_stop)
    return collector
