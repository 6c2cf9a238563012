"""Per-scenario targets on top of Locust's runners: a `UsersDispatcher` that takes them literally.

Locust's dispatcher spreads one total over the user classes by weight (a LoadTestShape can only set
that total, locust#2270), and it keeps its own state, so changing `fixed_count` from a shape does
nothing. `ScenarioDispatcher` is installed as `environment.dispatcher_class` and understands one
more kind of start: a `TargetList` (what `ProfileShape.tick()` returns as `user_classes`), a list
that repeats each class as many times as its scenario's target (so the tick's tuple changes, and
`shape_worker` calls `start()`, whenever any target changes) and carries the targets themselves.

For such a start it:

* ramps each class linearly from its current count to its target over `ramp_s` (the shape asks
  for the target one tick ahead, so counts follow the schedule between Locust's 1 s ticks),
  yielding at most `MAX_SLICES` intermediate distributions;
* splits every class as evenly as possible over the workers (counts differ by at most 1), keeps
  worker totals within 1, and moves as few users as possible from one distribution to the next
  (deterministic for a given history: ties go to the worker first in Locust's worker order);
* places exactly one coordinator per worker for an active arrival-rate scenario, and tells each
  worker its share (`agentload_share`, see `arrival.py`) before the spawn messages go out;
* keeps the targets across `add_worker`/`remove_worker` rebalances and when the master, after a
  worker went missing, starts again with a fresh dispatcher and no user classes.

Any other start (a plain list of classes, the class picker, another shape, the default "users and
spawn rate" form) goes to Locust's own dispatch unchanged.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gevent
from locust import User, task
from locust.dispatch import UsersDispatcher

from agentload.profiles.options import remember_given_options
from agentload.profiles.schedule import ArrivalRate, arrival_to_wire, round_half_up
from agentload.run_context import run_context
from agentload.traffic.arrival import SHARE_MESSAGE, register_share_listener, share_book

logger = logging.getLogger(__name__)

MAX_SLICES = 25
"""At most this many distributions per ramp (more users per slice beyond that)."""
SHARE_SWITCH_DELAY_S = 0.5
"""A new share takes effect this long after it is sent, so every worker has it by then."""

Distribution = dict[str, dict[str, int]]

LOCUST_INTERNALS = (
    "_active_users",
    "_current_user_count",
    "_dispatch_in_progress",
    "_dispatch_iteration_durations",
    "_dispatcher_generator",
    "_initial_users_on_workers",
    "_original_user_classes",
    "_rebalance",
    "_sort_workers",
    "_target_user_count",
    "_users_on_workers",
    "_worker_nodes",
)
"""The private parts of Locust's `UsersDispatcher` this subclass relies on (tested on Locust 2.47)."""


class _Probe(User):
    """A user class to build a throwaway `UsersDispatcher` with (it refuses an empty list)."""

    abstract = True

    @task
    def nothing(self) -> None: ...


@functools.cache
def missing_locust_internals() -> tuple[str, ...]:
    """The names of LOCUST_INTERNALS a real `UsersDispatcher` of the installed Locust lacks."""
    probe = UsersDispatcher(worker_nodes=[], user_classes=[_Probe])
    return tuple(name for name in LOCUST_INTERNALS if not hasattr(probe, name))


class TargetList(list):
    """`user_classes` for a profile tick: each class repeated `targets[name]` times, plus metadata.

    `classes` maps scenario names to their classes and `targets` is keyed by scenario name; the
    stored `targets` is keyed by class name, as the dispatcher and the runners are.

    Equality is the list's (the multiplicities), which is what `shape_worker` compares.
    """

    def __init__(
        self,
        classes: Mapping[str, type],
        targets: Mapping[str, int],
        ramp_s: float = 0.0,
        started_at: float = 0.0,
        time_scale: float = 1.0,
        source: Any = None,
        arrivals: Mapping[str, ArrivalRate] | None = None,
    ) -> None:
        super().__init__(cls for name, cls in classes.items() for _ in range(targets.get(name, 0)))
        self.targets = {cls.__name__: int(targets.get(name, 0)) for name, cls in classes.items()}
        self.ramp_s, self.started_at, self.time_scale, self.source = ramp_s, started_at, time_scale, source
        self.arrivals = dict(arrivals or {})
        """Class name -> the unscaled ArrivalRate of the classes that run as open-model executors."""


# --- pure planning ------------------------------------------------------------------------------


def ramp_slices(
    start: Mapping[str, int], targets: Mapping[str, int], ramp_s: float, max_slices: int = MAX_SLICES
) -> list[tuple[float, dict[str, int]]]:
    """(offset in s, counts) steps from `start` to `targets`: slice j of n at (j - 1/2) * ramp_s / n.

    Each count is the linear interpolation rounded half up, so at every instant of the ramp a class
    is within one user of the straight line between its start and its target.
    """
    names = sorted(targets)
    steps = max([abs(targets[n] - start.get(n, 0)) for n in names] + [0])
    if ramp_s <= 0 or steps <= 1:
        return [(0.0 if ramp_s <= 0 else ramp_s / 2 * min(steps, 1), dict(targets))]
    steps = min(steps, max_slices)
    out = []
    for j in range(1, steps + 1):
        counts = {
            n: round_half_up(start.get(n, 0) + (targets[n] - start.get(n, 0)) * j / steps) for n in names
        }
        out.append(((j - 0.5) * ramp_s / steps, counts))
    return out


def _pick(dist: Distribution, workers: list[str], name: str, most: bool) -> str:
    def key(w: str) -> tuple[int, int, int]:
        order = workers.index(w)
        c, total = dist[w][name], sum(dist[w].values())
        return (-c, -total, -order) if most else (c, total, order)

    return min((w for w in workers if not most or dist[w][name] > 0), key=key)


def _move_once(dist: Distribution, workers: list[str], names: list[str]) -> bool:
    """One move that evens a class, else one that evens the totals; False when balanced."""
    order = {w: i for i, w in enumerate(workers)}
    for name in names:
        hi = min(workers, key=lambda w: (-dist[w][name], -sum(dist[w].values()), -order[w]))
        lo = min(workers, key=lambda w: (dist[w][name], sum(dist[w].values()), order[w]))
        if dist[hi][name] - dist[lo][name] > 1:
            dist[hi][name] -= 1
            dist[lo][name] += 1
            return True
    totals = {w: sum(dist[w][n] for n in names) for w in workers}
    hi = min(workers, key=lambda w: (-totals[w], -order[w]))
    lo = min(workers, key=lambda w: (totals[w], order[w]))
    if totals[hi] - totals[lo] <= 1:
        return False
    name = max(names, key=lambda n: (dist[hi][n] - dist[lo][n], n))
    dist[hi][name] -= 1
    dist[lo][name] += 1
    return True


def distribute(
    current: Mapping[str, Mapping[str, int]],
    totals: Mapping[str, int],
    workers: Iterable[str],
    per_worker: Mapping[str, int] | None = None,
    names: Iterable[str] = (),
) -> Distribution:
    """Spread `totals` (class -> users) over `workers`, starting from `current` and moving few users.

    Classes in `per_worker` get that count on every worker (arrival-rate coordinators) and do not
    count towards the balanced totals. Every name in `names` appears in every worker's dict.
    """
    workers, per_worker = list(workers), dict(per_worker or {})
    ramping = sorted(totals)
    keys = sorted({*names, *ramping, *per_worker})
    dist = {w: {n: int(current.get(w, {}).get(n, 0)) for n in keys} for w in workers}
    if not workers:
        return dist
    for name in ramping:
        while sum(dist[w][name] for w in workers) > totals[name]:
            dist[_pick(dist, workers, name, True)][name] -= 1
        while sum(dist[w][name] for w in workers) < totals[name]:
            dist[_pick(dist, workers, name, False)][name] += 1
    while _move_once(dist, workers, ramping):
        pass
    for name in keys:
        if name not in totals:
            for w in workers:
                dist[w][name] = per_worker.get(name, 0)
    return dist


def shares(workers: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Worker id -> (index, count) in the dispatcher's worker order."""
    workers = list(workers)
    return {w: (i, len(workers)) for i, w in enumerate(workers)}


# --- per-environment run state ------------------------------------------------------------------


@dataclass
class RunState:
    """What must outlive one dispatcher: the master drops its dispatcher when a worker goes missing."""

    plan: TargetList | None = None
    shared_run: Any = None
    shared: dict[str, tuple[int, int]] = field(default_factory=dict)


def run_state(environment: Any) -> RunState:
    """The run's dispatcher state (created on first use)."""
    context = run_context(environment)
    if context.dispatch is None:
        context.dispatch = RunState()
    return context.dispatch


# --- the dispatcher -----------------------------------------------------------------------------


class ScenarioDispatcher(UsersDispatcher):
    """Locust's dispatcher, plus literal per-scenario targets for `TargetList` starts (see module doc)."""

    environment: ClassVar[Any] = None
    """Set on the subclass `install()` makes: used to send shares and to keep targets across dispatchers."""

    def __init__(self, worker_nodes: list[Any], user_classes: list[type]) -> None:
        super().__init__(worker_nodes, user_classes)
        self._classes = {u.__name__: u for u in self._original_user_classes}
        self._arrival: set[str] = set()
        self._plan: TargetList | None = None
        self._counts: dict[str, int] = {}
        self._own_state = RunState()
        self._warned: set[str] = set()

    # --- mode selection ------------------------------------------------------------------------

    @property
    def profile_mode(self) -> bool:
        return self._plan is not None

    def new_dispatch(
        self, target_user_count: int, spawn_rate: float, user_classes: list | None = None
    ) -> None:
        plan = self._resolve(user_classes)
        if plan is None:
            self._leave_profile_mode()
            super().new_dispatch(target_user_count, spawn_rate, user_classes)
            return
        ramp = plan.ramp_s if isinstance(user_classes, TargetList) else 0.0
        self._plan = plan
        self._arrival = set(plan.arrivals)
        if self.environment is not None:
            run_state(self.environment).plan = plan
        targets = self._known_targets(plan)
        self._target_user_count = self._final_total(targets)
        self._initial_users_on_workers = self._users_on_workers
        self._dispatcher_generator = self._profile_dispatch(targets, ramp)
        self._dispatch_iteration_durations.clear()

    def _resolve(self, user_classes: list | None) -> TargetList | None:
        if isinstance(user_classes, TargetList):
            return user_classes
        if user_classes is not None:
            return None
        if self._plan is not None:
            return self._plan
        env = self.environment
        plan = run_state(env).plan if env is not None else None
        if plan is not None and plan.source is not None and env.shape_class is plan.source:
            return plan
        return None

    def _known_targets(self, plan: TargetList) -> dict[str, int]:
        unknown = {n for n, c in plan.targets.items() if c and n not in self._classes} - self._warned
        if unknown:
            logger.warning(
                "Scenarios %s are not among the selected user classes; skipped", sorted(unknown)
            )
            self._warned |= unknown
        return {n: c for n, c in plan.targets.items() if n in self._classes}

    def _final_total(self, targets: Mapping[str, int]) -> int:
        workers = len(self._worker_nodes)
        return sum(workers * min(c, 1) if n in self._arrival else c for n, c in targets.items())

    def _leave_profile_mode(self) -> None:
        """Hand the current distribution back to Locust's bookkeeping (it removes users in LIFO order)."""
        if self._plan is None:
            return
        self._plan = None
        by_id = {w.id: w for w in self._worker_nodes}
        self._active_users = [
            (by_id[wid], name)
            for wid, counts in self._users_on_workers.items()
            if wid in by_id
            for name, count in counts.items()
            for _ in range(count)
        ]

    # --- profile dispatch ----------------------------------------------------------------------

    def _profile_dispatch(self, targets: dict[str, int], ramp_s: float) -> Generator[Distribution]:
        self._dispatch_in_progress = True
        ramping = {n: c for n, c in targets.items() if n not in self._arrival}
        start = {n: sum(d.get(n, 0) for d in self._users_on_workers.values()) for n in ramping}
        active = {n: min(c, 1) for n, c in targets.items() if n in self._arrival}
        t0 = time.perf_counter()
        for offset, counts in ramp_slices(start, ramping, ramp_s):
            gevent.sleep(max(0.0, t0 + offset - time.perf_counter()))
            self._rebalance = False
            self._apply(counts, active)
            yield self._users_on_workers
        if self._rebalance:
            self._rebalance = False
            yield self._users_on_workers
        self._dispatch_in_progress = False

    def _apply(self, counts: dict[str, int], active: dict[str, int]) -> None:
        self._counts, self._active_arrivals = dict(counts), dict(active)
        workers = [w.id for w in self._worker_nodes]
        self._users_on_workers = distribute(self._users_on_workers, counts, workers, active, self._classes)
        self._current_user_count = self.get_current_user_count()
        if any(active.values()):
            self._send_shares(workers)

    def _reflow(self) -> None:
        self._apply(self._counts, getattr(self, "_active_arrivals", {}))
        self._rebalance = True

    def add_worker(self, worker_node: Any) -> None:
        if not self.profile_mode:
            super().add_worker(worker_node)
            return
        self._worker_nodes.append(worker_node)
        self._sort_workers()
        self._reflow()

    def remove_worker(self, worker_node: Any) -> None:
        if not self.profile_mode:
            super().remove_worker(worker_node)
            return
        self._worker_nodes = [w for w in self._worker_nodes if w.id != worker_node.id]
        self._users_on_workers.pop(worker_node.id, None)
        if self._worker_nodes:
            self._reflow()

    # --- shares --------------------------------------------------------------------------------

    @property
    def shares(self) -> dict[str, tuple[int, int]]:
        """The shares last sent (worker id -> (index, count)); empty before an arrival scenario runs."""
        return dict(self._state().shared)

    def _state(self) -> RunState:
        return run_state(self.environment) if self.environment is not None else self._own_state

    def _send_shares(self, workers: list[str]) -> None:
        wanted = shares(workers)
        state = self._state()
        plan = self._plan
        assert plan is not None
        if state.shared_run != plan.started_at:
            state.shared_run, state.shared = plan.started_at, {}
        if wanted == state.shared:
            return
        elapsed = time.perf_counter() - plan.started_at
        effective_at = 0.0 if not state.shared else elapsed + SHARE_SWITCH_DELAY_S
        runner = getattr(self.environment, "runner", None)
        for wid, (index, count) in wanted.items():
            data = {
                "index": index,
                "count": count,
                "elapsed": elapsed,
                "effective_at": effective_at,
                "time_scale": plan.time_scale,
                "run": plan.started_at,
                "schedules": {name: arrival_to_wire(rate) for name, rate in plan.arrivals.items()},
            }
            self._send(runner, wid, data)
        state.shared = wanted

    @staticmethod
    def _send(runner: Any, worker_id: str, data: dict[str, Any]) -> None:
        if runner is None:
            return
        if hasattr(runner, "clients"):  # MasterRunner: to that worker only
            runner.send_message(SHARE_MESSAGE, data, client_id=worker_id)
        else:  # LocalRunner: delivered synchronously to this process's listener
            register_share_listener(runner)
            runner.send_message(SHARE_MESSAGE, data)


def install(environment: Any) -> type[ScenarioDispatcher]:
    """Make `environment` dispatch profiles per scenario; call it from Locust's `init` event.

    Sets `environment.dispatcher_class` to a `ScenarioDispatcher` bound to this environment,
    registers the `agentload_share` listener on its runner (local and worker runners need it) and
    remembers whether -u was given (see `options.fixed_load`). Safe to call more than once.
    Raises RuntimeError, naming them, when the installed Locust lacks internals the dispatcher needs.
    """
    missing = missing_locust_internals()
    if missing:
        raise RuntimeError(
            f"this Locust version's UsersDispatcher has no {', '.join(missing)}; "
            "agentload's per-scenario dispatch is tested with locust 2.47 (pip install 'locust~=2.47.0')"
        )
    current = environment.dispatcher_class
    if not (
        isinstance(current, type)
        and issubclass(current, ScenarioDispatcher)
        and current.environment is environment
    ):
        environment.dispatcher_class = type(
            "BoundScenarioDispatcher", (ScenarioDispatcher,), {"environment": environment}
        )
    register_share_listener(getattr(environment, "runner", None))
    remember_given_options(environment)
    environment.events.test_stop.add_listener(lambda **_: share_book(environment).reset())
    return environment.dispatcher_class
