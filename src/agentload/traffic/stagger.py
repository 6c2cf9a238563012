"""Users of one spawn batch start one after another over a second, not all in the same instant.

Locust spawns `floor(spawn_rate)` users at once, once a second. Users paced with `constant_pacing`
or `constant_throughput` then fire in step for the whole run, and the generator's own bursts (a
few hundred requests to send and read at the same moment) show up as latency: about 10 ms of P50
and 20 ms of P95 for a bare `FastHttpUser` at 1,000 requests/s, measured by `make bench`. k6's
`ramping-vus` starts its VUs one by one. So the suite's users learn at construction which batch
they belong to (every user made in the same turn of the event loop) and their place in it, and
wait `place / size` of a second before their first task: the batch still starts within its second.
"""

from __future__ import annotations

from dataclasses import dataclass

import gevent

BATCH_WINDOW_S = 1.0
"""Locust's dispatcher sends one batch a second (`floor(spawn_rate) / spawn_rate`, at most 1 s)."""


@dataclass
class Batch:
    """The users constructed in one turn of the event loop (Locust's spawn loop never yields)."""

    turn: float
    size: int = 0


_current = Batch(turn=-1.0)


def join_batch() -> tuple[Batch, int]:
    """The batch being constructed now (a new one on a new turn of the loop) and this user's place."""
    global _current
    turn = gevent.get_hub().loop.now()
    if _current.turn != turn:
        _current = Batch(turn)
    place = _current.size
    _current.size += 1
    return _current, place


def start_delay(place: int, size: int, window_s: float = BATCH_WINDOW_S) -> float:
    """Seconds the user at `place` of a batch of `size` waits so the batch spreads over `window_s`."""
    return window_s * place / size if size > 1 else 0.0
