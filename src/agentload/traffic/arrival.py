"""The open-model executor: iterations start on a schedule, whatever the platform's latency.

Locust is a closed model (a user waits for its response before the next request), so a slow
platform silently lowers the request rate: coordinated omission. k6's constant-/ramping-arrival-rate
executors start iterations at the scheduled times instead; this module does the same on gevent.

A shape that gives a user class an `ArrivalRate` schedule makes the dispatcher place one instance
of it per process, and that instance runs an `ArrivalExecutor` instead of Locust's task loop: it
computes each iteration's due time with the pure `due_time`, sleeps until it, and runs one of the
class's tasks (picked by weight, as Locust does) in a greenlet of its own bounded group, marked with
its due time (`traffic/iteration.py`). If `max_concurrency` iterations are already in flight the
iteration is dropped (k6 semantics), never queued; so is, at the stop, every iteration already due
that a generator too busy to keep up never started. All iterations share the user's FastHttpUser
`client`, whose connection pool is sized to `max_concurrency`.

Every started and dropped iteration is announced on the custom events `iteration_started` and
`dropped_iteration` (keyword arguments `scenario`, `scheduled_at`, a perf_counter time, and
`cause`: "generator" for an iteration the generator never reached, else ""), which
`iteration_event` creates on first use, whoever asks first: the plugin counts them, InfluxDB
writes them.

Distributed runs: the master's dispatcher sends every worker its share with the custom message
`agentload_share` ({"index", "count", "elapsed", "effective_at", "time_scale", "run", "schedules"})
before the spawn messages; `schedules` names the classes that run on an arrival rate, so a worker
knows which of its users are executors without its own copy of the shape. From schedule time
`effective_at` on, worker `index` of `count` runs the global iterations k with k % count == index;
earlier shares keep owning earlier iterations, so a change of the worker set moves ownership at
one instant on every worker (no iteration run twice or lost).
`elapsed` (seconds since the profile started, on the master) puts late joiners on the same clock.
Per-worker concurrency is ceil(max_concurrency / count).
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.pool import Group
from locust.event import EventHook
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING

from agentload.events import custom_event
from agentload.profiles.schedule import (
    ArrivalRate,
    arrival_from_wire,
    arrivals_before,
    due_time,
    scaled_schedule,
)
from agentload.run_context import run_context
from agentload.traffic.iteration import begin_iteration

logger = logging.getLogger(__name__)

SHARE_MESSAGE = "agentload_share"
POLL_S = 0.25
"""Longest single sleep of the coordinator, so a new share or a stop is seen within it."""
OVERDUE_S = 0.05
"""How late an iteration may be at the stop before it counts as dropped rather than raced."""


@dataclass(frozen=True)
class Epoch:
    """From schedule time `effective_at` on, this process runs iterations k with k % count == index."""

    effective_at: float
    index: int
    count: int


ITERATION_EVENTS = ("iteration_started", "dropped_iteration")


def iteration_event(environment: Any, name: str) -> EventHook:
    """The named iteration event of `environment`, created on first use and never replaced."""
    return custom_event(environment, name)


class ShareBook:
    """This process's shares for the current run, filled by `agentload_share` messages."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the run (at test stop): a later run without arrival-rate scenarios runs closed loops."""
        self.run: Any = None
        self.origin = 0.0
        self.time_scale = 1.0
        self.epochs: list[Epoch] = []
        self.schedules: dict[str, ArrivalRate] = {}

    def apply(self, data: dict[str, Any]) -> None:
        if data.get("run") != self.run or not self.epochs:
            self.run, self.epochs = data.get("run"), []
            self.origin = time.perf_counter() - float(data.get("elapsed", 0.0))
            self.time_scale = float(data.get("time_scale", 1.0))
        wires = data.get("schedules") or {}
        self.schedules = {name: arrival_from_wire(wire) for name, wire in wires.items()}
        index, count = int(data["index"]), int(data["count"])
        if self.epochs and (self.epochs[-1].index, self.epochs[-1].count) == (index, count):
            return
        self.epochs.append(Epoch(float(data.get("effective_at", 0.0)), index, count))


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


def arrival_schedule(environment: Any, user_class: type) -> ArrivalRate | None:
    """The arrival-rate schedule `user_class` runs on in this run, or None for a closed loop."""
    return share_book(environment).schedules.get(user_class.__name__)


class ArrivalExecutor:
    """Runs `user`'s weighted tasks on `schedule` (see the module doc); `run()` replaces the task loop."""

    def __init__(self, user: Any, schedule: ArrivalRate) -> None:
        self.user = user
        self.environment = user.environment
        self.schedule = schedule
        self.scenario = type(user).__name__
        self._inflight = Group()
        self._stopped = False

    def run(self) -> None:
        user = self.user
        user._state = LOCUST_STATE_RUNNING
        try:
            user.on_start()
            self._coordinate()
            self._inflight.join()
        except (GreenletExit, StopUser):
            self._stopped = True
            self._inflight.kill(block=False)
        user.on_stop()

    def _fire(self, event: str, scheduled_at: float, cause: str = "") -> None:
        iteration_event(self.environment, event).fire(
            scenario=self.scenario, scheduled_at=scheduled_at, cause=cause
        )

    def _coordinate(self) -> None:
        book = share_book(self.environment)
        schedule, origin = scaled_schedule(self.schedule, book.time_scale), book.origin
        cursor = 0
        try:
            while self.user._state != LOCUST_STATE_STOPPING:
                owned = next_owned(schedule, book.epochs, cursor)
                wait = POLL_S if owned is None else owned[1] - (time.perf_counter() - origin)
                if owned is None or wait > POLL_S:
                    gevent.sleep(POLL_S)
                    continue
                gevent.sleep(max(0.0, wait))
                if self.user._state == LOCUST_STATE_STOPPING:
                    break
                k, due = owned
                self._launch(origin + due, epoch_at(book.epochs, due) or Epoch(0, 0, 1))
                cursor = k + 1
        finally:
            self._drop_overdue(schedule, book, origin, cursor)

    def _drop_overdue(self, schedule: ArrivalRate, book: ShareBook, origin: float, cursor: int) -> None:
        """At the stop, the owned iterations already due but never started count as dropped.

        A generator too busy to keep up (a saturated core) starts iterations later and later; without
        this, the ones it never reached would vanish from the counts instead of showing as dropped,
        as k6 reports them. An iteration due within `OVERDUE_S` of the stop raced it and is not counted.
        """
        now = time.perf_counter() - origin - OVERDUE_S
        while (owned := next_owned(schedule, book.epochs, cursor)) is not None and owned[1] < now:
            self._fire("dropped_iteration", origin + owned[1], cause="generator")
            cursor = owned[0] + 1

    def _launch(self, scheduled_at: float, epoch: Epoch) -> None:
        if len(self._inflight) >= math.ceil(self.schedule.max_concurrency / epoch.count):
            self._fire("dropped_iteration", scheduled_at)
            return
        self._fire("iteration_started", scheduled_at)
        self._inflight.spawn(self._iteration, scheduled_at)

    def _iteration(self, scheduled_at: float) -> None:
        begin_iteration(scheduled_at)
        user = self.user
        try:
            user.rng.choice(user.tasks)(user)
        except (GreenletExit, StopUser):
            raise
        except Exception as exc:
            if not self._stopped:
                logger.error("%s\n%s", exc, traceback.format_exc())
                self.environment.events.user_error.fire(
                    user_instance=user, exception=exc, tb=exc.__traceback__
                )
