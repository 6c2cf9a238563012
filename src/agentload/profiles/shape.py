"""`ProfileShape`: Locust's LoadTestShape driven by a profile, one target per scenario.

`tick()` stays thin: it picks the profile to run (time-scaled, or replaced by -u/-t), asks the pure
`targets_at` for every scenario's target one tick ahead, and returns them as a `TargetList` for the
`ScenarioDispatcher` (see dispatcher.py; `install()` must have run, which the plugin does at init).
The total it returns counts one arrival-rate coordinator per worker, which is what the dispatcher
places, so the master's "all users spawned" wait is satisfied at once.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from locust import LoadTestShape

from agentload.profiles.dispatcher import TargetList
from agentload.profiles.options import fixed_load, time_scale
from agentload.profiles.schedule import ArrivalRate, Profile, duration, fixed_users, scaled, targets_at

logger = logging.getLogger(__name__)

TICK_S = 1.0
"""Locust's shape_worker ticks once a second; the dispatcher ramps to the next tick's targets over it."""
SPAWN_RATE = 50.0
"""Reported to Locust only (constant, so it never causes a start): ramps come from the schedule."""


class ProfileShape(LoadTestShape):
    """Base of the generated `<Profile>Shape` classes; `locust_classes()` sets the class attributes."""

    abstract = True
    use_common_options = True
    profile: ClassVar[Profile | None] = None
    scenario_classes: ClassVar[dict[str, type]] = {}
    """Scenario name -> generated user class, in the profile's order."""

    def __init__(self) -> None:
        super().__init__()
        self._warned = False

    def active_profile(self) -> Profile:
        """The profile this run follows: -u/-t's fixed load if given, else the time-scaled profile."""
        assert self.profile is not None, "locust_classes() sets the profile"
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
        plan = TargetList(self.scenario_classes, targets, TICK_S, self.start_time, self._scale(), self)
        return self._total(profile, targets), SPAWN_RATE, plan

    def _scale(self) -> float:
        return time_scale(self.runner.environment if self.runner is not None else None)

    def _total(self, profile: Profile, targets: dict[str, int]) -> int:
        workers = getattr(self.runner, "worker_count", 1) or 1
        arrival = {s.name for s in profile.scenarios if isinstance(s.schedule, ArrivalRate)}
        return sum(workers * c if name in arrival else c for name, c in targets.items())


def shape_for(
    profile: Profile, scenario_classes: dict[str, type], name: str, module: str
) -> type[ProfileShape]:
    """A concrete ProfileShape subclass for `profile`."""
    attrs: dict[str, Any] = {
        "abstract": False,
        "profile": profile,
        "scenario_classes": dict(scenario_classes),
        "__module__": module,
        "__doc__": f"Runs the {profile.name!r} profile ({duration(profile):g} s unscaled).",
    }
    return type(name, (ProfileShape,), attrs)
