"""The open-model executor: iterations start on a schedule, whatever the platform's latency.

Locust is a closed model (a user waits for its response before the next request), so a slow
platform silently lowers the request rate: coordinated omission. k6's constant-/ramping-arrival-rate
executors start iterations at the scheduled times instead; this module does the same on gevent.

One `ArrivalRateUser` per scenario and process is a coordinator, not a user: it computes each
iteration's due time with the pure `due_time`, sleeps until it, and runs `self.act(scheduled_at=...)`
in a greenlet of its own bounded group. If `max_concurrency` iterations are already in flight the
iteration is dropped (k6 semantics), never queued. All iterations share the coordinator's
FastHttpUser `client`, whose connection pool is sized to `max_concurrency`.

Every started and dropped iteration is announced on the custom events `iteration_started` and
`dropped_iteration` (keyword arguments `scenario` and `scheduled_at`, a perf_counter time), which
`iteration_event` creates on first use, whoever asks first: the plugin counts them, InfluxDB
writes them.

Distributed runs: the master's dispatcher sends every worker its share with the custom message
`agentload_share` ({"index", "count", "elapsed", "effective_at", "time_scale", "run"}) before the
spawn messages. From schedule time `effective_at` on, worker `index` of `count` runs the global
iterations k with k % count == index; earlier shares keep owning earlier iterations, so a change of
the worker set moves ownership at one instant on every worker (no iteration run twice or lost).
`elapsed` (seconds since the profile started, on the master) puts late joiners on the same clock.
Per-worker concurrency is ceil(max_concurrency / count).
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any, ClassVar

import gevent
from gevent import GreenletExit
from gevent.event import Event
from gevent.pool import Group
from locust import User
from locust.event import EventHook
from locust.exception import StopUser
from locust.runners import WorkerRunner
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING

from agentload.profiles.schedule import ArrivalRate, arrivals_before, due_time, scaled_schedule
from agentload.run_context import run_context

logger = logging.getLogger(__name__)

SHARE_MESSAGE = "agentload_share"
POLL_S = 0.25
"""Longest single sleep of the coordinator, so a new share or a stop is seen within it."""


@dataclass(frozen=True)
class Epoch:
    """From schedule time `effective_at` on, this process runs iterations k with k % count == index."""

    effective_at: float
    index: int
    count: int


ITERATION_EVENTS = ("iteration_started", "dropped_iteration")


def iteration_event(environment: Any, name: str) -> EventHook:
    """The named iteration event of `environment`, created on first use and never replaced."""
    hook = getattr(environment.events, name, None)
    if hook is None:
        hook = EventHook()
        setattr(environment.events, name, hook)
    return hook


class ShareBook:
    """This process's shares for the current run, filled by `agentload_share` messages."""

    def __init__(self) -> None:
        self.run: Any = None
        self.origin = 0.0
        self.time_scale = 1.0
        self.epochs: list[Epoch] = []
        self.ready = Event()

    def apply(self, data: dict[str, Any]) -> None:
        if data.get("run") != self.run or not self.epochs:
            self.run, self.epochs = data.get("run"), []
            self.origin = time.perf_counter() - float(data.get("elapsed", 0.0))
            self.time_scale = float(data.get("time_scale", 1.0))
        index, count = int(data["index"]), int(data["count"])
        if self.epochs and (self.epochs[-1].index, self.epochs[-1].count) == (index, count):
            return
        self.epochs.append(Epoch(float(data.get("effective_at", 0.0)), index, count))
        self.ready.set()


def share_book(environment: Any) -> ShareBook:
    """The run's share book (created on first use)."""
    context = run_context(environment)
    if context.shares is None:
        context.shares = ShareBook()
    return context.shares


def on_share_message(environment: Any, msg: Any, **_: Any) -> None:
    share_book(environment).apply(msg.data)


def register_share_listener(runner: Any) -> None:
    """Listen for shares on this runner (idempotent; Locust refuses a second listener)."""
    if runner is not None and SHARE_MESSAGE not in runner.custom_messages:
        runner.register_message(SHARE_MESSAGE, on_share_message)


def epoch_at(epochs: list[Epoch], t: float) -> Epoch | None:
    """The share in force at schedule time t: the latest one effective at or before t."""
    found = None
    for epoch in epochs:
        if epoch.effective_at <= t:
            found = epoch
    return found


def next_owned(schedule: ArrivalRate, epochs: list[Epoch], cursor: int) -> tuple[int, float] | None:
    """The first iteration k >= cursor this process owns, with its due time; None when none is left."""
    k = cursor
    while (due := due_time(schedule, k)) is not None:
        epoch = epoch_at(epochs, due)
        if epoch is None:
            if not epochs:
                return None
            k = max(k + 1, math.floor(arrivals_before(schedule, epochs[0].effective_at)))
        elif k % epoch.count == epoch.index:
            return k, due
        else:
            k += (epoch.index - k) % epoch.count
    return None


class ArrivalRateUser(User):
    """Base of the generated arrival-rate scenario classes: combine it with a user that has `act()`.

    `locust_classes()` sets `schedule` and `scenario`; with Locust's default dispatcher (plain runs)
    each such user runs the full rate on its own. `act(scheduled_at=...)` comes from the scenario's
    user class (it follows this one in the MRO, so this class must not define it).
    """

    abstract = True
    schedule: ClassVar[ArrivalRate | None] = None
    scenario: ClassVar[str] = ""
    share_wait_s: ClassVar[float] = 5.0
    """How long a coordinator on a worker waits for its share before assuming it is alone."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self._inflight = Group()
        self._stopped = False

    # --- hooks ---------------------------------------------------------------------------------

    def on_dropped_iteration(self, scheduled_at: float) -> None:
        self._fire("dropped_iteration", scheduled_at)

    def on_iteration_started(self, scheduled_at: float) -> None:
        self._fire("iteration_started", scheduled_at)

    def _fire(self, event: str, scheduled_at: float) -> None:
        iteration_event(self.environment, event).fire(
            scenario=self.scenario or type(self).__name__, scheduled_at=scheduled_at
        )

    # --- the coordinator -----------------------------------------------------------------------

    def run(self) -> None:  # type: ignore[override]  # a coordinator replaces Locust's task loop
        self._state = LOCUST_STATE_RUNNING
        try:
            self.on_start()
            self._coordinate()
            self._inflight.join()
        except (GreenletExit, StopUser):
            self._stopped = True
            self._inflight.kill(block=False)
        self.on_stop()

    def _book(self) -> ShareBook:
        book = share_book(self.environment)
        if not book.ready.is_set() and isinstance(self.environment.runner, WorkerRunner):
            book.ready.wait(timeout=self.share_wait_s)
        if not book.ready.is_set():
            if isinstance(self.environment.runner, WorkerRunner):
                logger.warning("%s got no share from the master; running the full rate", type(self).__name__)
            from agentload.profiles.options import time_scale

            book.apply({"index": 0, "count": 1, "elapsed": 0.0, "time_scale": time_scale(self.environment)})
        return book

    def _coordinate(self) -> None:
        assert self.schedule is not None, "locust_classes() sets the schedule"
        book = self._book()
        schedule, origin = scaled_schedule(self.schedule, book.time_scale), book.origin
        cursor = 0
        while self._state != LOCUST_STATE_STOPPING:
            owned = next_owned(schedule, book.epochs, cursor)
            wait = POLL_S if owned is None else owned[1] - (time.perf_counter() - origin)
            if owned is None or wait > POLL_S:
                gevent.sleep(POLL_S)
                continue
            gevent.sleep(max(0.0, wait))
            if self._state == LOCUST_STATE_STOPPING:
                break
            k, due = owned
            self._launch(origin + due, epoch_at(book.epochs, due) or Epoch(0, 0, 1))
            cursor = k + 1

    def _launch(self, scheduled_at: float, epoch: Epoch) -> None:
        limit = math.ceil(self.schedule.max_concurrency / epoch.count) if self.schedule else 1
        if len(self._inflight) >= limit:
            self.on_dropped_iteration(scheduled_at)
            return
        self.on_iteration_started(scheduled_at)
        self._inflight.spawn(self._iteration, scheduled_at)

    def _iteration(self, scheduled_at: float) -> None:
        try:
            self.act(scheduled_at=scheduled_at)
        except (GreenletExit, StopUser):
            raise
        except Exception as exc:
            if not self._stopped:
                logger.error("%s\n%s", exc, traceback.format_exc())
                self.environment.events.user_error.fire(
                    user_instance=self, exception=exc, tb=exc.__traceback__
                )
