"""`ScenarioShape`: a Locust shape whose subclasses declare one schedule per user class.

    class BudgetShape(ScenarioShape):
        schedules = {
            IntentInference: RampingUsers(...),
            ChatResponse: ArrivalRate(rate=10, duration_s=210, max_concurrency=50),
        }

`tick()` stays thin: it picks the profile to run (time-scaled, or replaced by -u/-t), asks the pure
`targets_at` for every scenario's target one tick ahead, and returns them as a `TargetList` for the
`ScenarioDispatcher` (see dispatcher.py; `install()` must have run, which the plugin does at init).
The total it returns counts one arrival-rate executor per worker, which is what the dispatcher
places, so the master's "all users spawned" wait is satisfied at once.
"""

from __future__ import annotations

import logging
import re
from typing import ClassVar

from locust import LoadTestShape

from agentload.profiles.dispatcher import TargetList
from agentload.profiles.options import fixed_load, time_scale
from agentload.profiles.schedule import (
    ArrivalRate,
    Profile,
    Scenario,
    Schedule,
    duration,
    fixed_users,
    scaled,
    targets_at,
)

logger = logging.getLogger(__name__)

TICK_S = 1.0
"""Locust's shape_worker ticks once a second; the dispatcher ramps to the next tick's targets over it."""
SPAWN_RATE = 50.0
"""Reported to Locust only (constant, so it never causes a start): ramps come from the schedule."""


def snake_case(name: str) -> str:
    """IntentInference -> intent_inference (the scenario names in stage labels and reports)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ScenarioShape(LoadTestShape):
    """Runs every user class in `schedules` on its own schedule, at the same time.

    `name` defaults to the class name without "Shape", lower case (`BudgetShape` -> "budget"); the
    first scenario's stages name the run's stages. `find_breaking_point = True` asks for the
    stress analysis of every stage.
    """

    abstract = True
    use_common_options = True
    schedules: ClassVar[dict[type, Schedule]] = {}
    name: ClassVar[str] = ""
    find_breaking_point: ClassVar[bool] = False
    profile: ClassVar[Profile | None] = None
    """The schedules as pure data, made when the subclass is defined."""

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "schedules" not in cls.__dict__:
            return
        for user, schedule in cls.schedules.items():
            if isinstance(schedule, ArrivalRate):
                _check_open_model(cls.__name__, user)
        name = cls.__dict__.get("name") or snake_case(cls.__name__.removesuffix("Shape")) or "custom"
        cls.name = name
        cls.profile = Profile(
            name=name,
            scenarios=tuple(Scenario(snake_case(u.__name__), u, s) for u, s in cls.schedules.items()),
            description=(cls.__doc__ or "").strip().split("\n")[0],
            find_breaking_point=cls.find_breaking_point,
        )

    def __init__(self) -> None:
        super().__init__()
        self._warned = False

    def active_profile(self) -> Profile:
        """The profile this run follows: -u/-t's fixed load if given, else the time-scaled profile."""
        assert self.profile is not None, f"{type(self).__name__} declares no schedules"
        environment = self.runner.environment if self.runner is not None else None
        fixed = fixed_load(environment)
        if fixed is not None:
            try:
                return fixed_users(self.profile, fixed.users, fixed.run_time_s, fixed.spawn_rate)
            except ValueError as exc:
                if not self._warned:
                    logger.warning("%s; running the profile as staged", exc)
                    self._warned = True
        return scaled(self.profile, time_scale(environment))

    def tick(self) -> tuple[int, float, list[type]] | None:
        profile = self.active_profile()
        t = self.get_run_time()
        if t >= duration(profile):
            return None
        targets = targets_at(profile, t, lookahead_s=TICK_S)
        classes = {s.name: s.user for s in profile.scenarios}
        arrivals = {s.user.__name__: s.schedule for s in self.profile.scenarios if _open(s, profile)}
        plan = TargetList(classes, targets, TICK_S, self.start_time, time_scale(self._env()), self, arrivals)
        return self._total(profile, targets), SPAWN_RATE, plan

    def _env(self) -> object:
        return self.runner.environment if self.runner is not None else None

    def _total(self, profile: Profile, targets: dict[str, int]) -> int:
        workers = getattr(self.runner, "worker_count", 1) or 1
        arrival = {s.name for s in profile.scenarios if isinstance(s.schedule, ArrivalRate)}
        return sum(workers * c if name in arrival else c for name, c in targets.items())


def _check_open_model(shape: str, user: type) -> None:
    """An ArrivalRate needs a user that can run as the executor, and tasks it can call one at a time."""
    where = f"{shape}: {user.__name__} runs on an ArrivalRate, so"
    if not getattr(user, "runs_open_model", False):
        raise TypeError(f"{where} it must subclass agentload.AgentUser")
    if any(isinstance(task, type) for task in getattr(user, "tasks", ())):
        raise TypeError(f"{where} its tasks must be @task methods, not TaskSets")


def _open(scenario: Scenario, active: Profile) -> bool:
    """An arrival-rate scenario that the active profile (not a -u/-t override) still runs as one."""
    return any(s.name == scenario.name and isinstance(s.schedule, ArrivalRate) for s in active.scenarios)
