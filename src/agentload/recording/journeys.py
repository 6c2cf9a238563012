"""Journeys: a named block of a Locust task (`with journey("book_table"):`) measured as one unit.

A journey records, when it ends, into the process's recorder (the one `metrics.bind` set):
  * `<name>`: its wall-clock duration in ms, for journeys that succeeded (as for requests);
  * `<name>_request_time`: the sum of its requests' own response times (Gatling's cumulated time),
    so a budget can tell time spent waiting on the target from think time and client work;
  * `<name>_error_rate`: a rate (its `:true`/`:total` counters); a journey fails when a request
    inside it failed or an exception other than `GreenletExit` left it. A journey cut short by
    `GreenletExit` (users stopped at the end of a run) is not recorded at all.
It also offers itself among `<name>`'s slowest, with the trace ids of its requests, and is handed
to the process's `watch`er (the InfluxDB output writes it as a sample of scenario `journey`).

Which journey a request belongs to. Locust fires `events.request` in the greenlet that sent the
request; the plugin's request listener calls `note_request`, which finds the innermost open
journey of that greenlet, or else of the greenlet that spawned it (gevent keeps a weak reference,
`Greenlet.spawning_greenlet`), and so on up: requests from a `gevent.pool` spawned inside a
journey belong to it, with no wrapper. A request is credited to every open journey around it, so
nested journeys roll up, and a failed child fails its parent; each keeps its own duration.
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from greenlet import GreenletExit, getcurrent

from agentload.recording import metrics
from agentload.recording.metrics import DURATION, RATE, rate_counters

JOURNEY = "journey"
"""What budgets.yaml's `metrics:` section calls a journey: `book_table: journey`."""
REQUEST_TIME_SUFFIX = "_request_time"
ERROR_RATE_SUFFIX = "_error_rate"
MAX_TRACE_IDS = 20
"""Trace ids kept per journey for its slowest list (a long journey's first 20 requests)."""
JOURNEYS: dict[str, None] = {}
"""Every journey name this process declared, in declaration order."""

F = TypeVar("F", bound=Callable[..., Any])


def journey_metrics(name: str) -> tuple[str, str, str]:
    """The three metrics of journey `name`: wall duration, summed request time, error rate."""
    return name, name + REQUEST_TIME_SUFFIX, name + ERROR_RATE_SUFFIX


def declare_journey(name: str) -> None:
    """Make journey `name`'s metrics known (budgets may name them); harmless when repeated."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a journey name must be a word like book_table, got {name!r}")
    wall, request_time, error_rate = journey_metrics(name)
    metrics.declare(wall, DURATION, scheduled=False)
    metrics.declare(request_time, DURATION, scheduled=False)
    metrics.declare(error_rate, RATE)
    JOURNEYS[name] = None


def journey_of(metric: str) -> str | None:
    """The journey a metric belongs to (`checkout_error_rate` -> `checkout`), or None."""
    for name in (metric, metric.removesuffix(REQUEST_TIME_SUFFIX), metric.removesuffix(ERROR_RATE_SUFFIX)):
        if name in JOURNEYS:
            return name
    return None


class _Open:
    """One running journey: what its requests did so far."""

    __slots__ = ("failed", "name", "parent", "request_ms", "started", "started_at", "trace_ids")

    def __init__(self, name: str, parent: _Open | None) -> None:
        self.name = name
        self.parent = parent
        self.started = time.perf_counter()
        self.started_at = time.time()
        self.failed = False
        self.request_ms = 0.0
        self.trace_ids: list[str] = []


_stacks: weakref.WeakKeyDictionary[Any, list[_Open]] = weakref.WeakKeyDictionary()
"""Per greenlet, the journeys it opened, innermost last."""


def current() -> _Open | None:
    """The innermost open journey of this greenlet or of the nearest greenlet that spawned it."""
    if not _stacks:
        return None
    glet: Any = getcurrent()
    while glet is not None:
        stack = _stacks.get(glet)
        if stack:
            return stack[-1]
        spawner = getattr(glet, "spawning_greenlet", None)
        glet = spawner() if spawner is not None else None
    return None


def note_request(ok: bool, response_time_ms: float, trace_id: str | None) -> None:
    """Credit one request to every open journey around the greenlet that sent it."""
    open_journey = current()
    while open_journey is not None:
        open_journey.request_ms += response_time_ms
        open_journey.failed = open_journey.failed or not ok
        if trace_id and len(open_journey.trace_ids) < MAX_TRACE_IDS:
            open_journey.trace_ids.append(trace_id)
        open_journey = open_journey.parent


class journey:
    """`with journey("book_table"):` around any code in a task, or `@journey("book_table")` on it.

    The object holds no state of its own run, so one may be shared (a module-level constant).
    """

    def __init__(self, name: str) -> None:
        declare_journey(name)
        self.name = name

    def __enter__(self) -> journey:
        parent = current()
        glet = getcurrent()
        stack = _stacks.get(glet)
        if stack is None:
            stack = _stacks[glet] = []
        stack.append(_Open(self.name, parent))
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        glet = getcurrent()
        stack = _stacks[glet]
        done = stack.pop()
        if not stack:
            del _stacks[glet]  # requests outside any journey then find no stack at all
        if isinstance(exc, GreenletExit):
            return
        done.failed = done.failed or exc_type is not None
        if done.failed and done.parent is not None:
            done.parent.failed = True
        _record(done, (time.perf_counter() - done.started) * 1000)

    def __call__(self, func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


_watchers: list[Callable[[str, float, bool], None]] = []


def watch(callback: Callable[[str, float, bool], None]) -> None:
    """Call `callback(name, wall_ms, failed)` at every journey's end (the InfluxDB output does)."""
    _watchers[:] = [callback]


def _record(done: _Open, wall_ms: float) -> None:
    for callback in _watchers:
        callback(done.name, wall_ms, done.failed)
    recorder = metrics.bound_recorder()
    if recorder is None:
        return
    wall, request_time, error_rate = journey_metrics(done.name)
    failures, total = rate_counters(error_rate)
    recorder.count(failures, 1 if done.failed else 0)
    recorder.count(total)
    if done.failed:
        return
    recorder.observe(wall, wall_ms)
    recorder.observe(request_time, done.request_ms)
    recorder.slow_request(wall, wall_ms, done.started_at, " ".join(done.trace_ids), 0, {})
