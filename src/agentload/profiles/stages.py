"""Which stage of the profile is running, so every sample lands in its stage's histograms.

Each process (local, master, worker) follows the same time-scaled schedule from its own test start,
so workers label their own samples and the stress report needs no clock sync beyond Locust's own
spawn messages (milliseconds apart). Runs without a profile shape, or with Locust's -u/-t
override, have a single unnamed stage.
"""

from __future__ import annotations

import time
from typing import Any

import gevent

from agentload.profiles.options import fixed_load
from agentload.profiles.schedule import Profile, scaled, stage_label_at, stage_windows
from agentload.profiles.shape import ScenarioShape

TICK_S = 0.25


def active_profile(environment: Any) -> Profile | None:
    """The time-scaled profile this run follows, or None (no profile shape, or -u/-t given)."""
    shape = getattr(environment, "shape_class", None)
    if not isinstance(shape, ScenarioShape) or shape.profile is None or fixed_load(environment):
        return None
    return scaled(shape.profile, environment.agentload.settings.time_scale)


def stage_plan(environment: Any) -> list[dict[str, Any]]:
    """Stage windows for the breaking-point report ([{"name", "seconds"}]), for profiles that want one."""
    profile = active_profile(environment)
    if profile is None or not profile.find_breaking_point:
        return []
    return [{"name": n, "seconds": s} for n, s in stage_windows(profile)]


def stage_names(environment: Any) -> list[str]:
    """The stage labels of the run's profile ([] without one), for budgets that name a stage."""
    profile = active_profile(environment)
    return [] if profile is None else [name for name, _ in stage_windows(profile)]


def install(environment: Any) -> None:
    """Label the recorder's current stage from test start until test stop."""
    tracker: list[gevent.Greenlet] = []
    recorder = environment.agentload.recorder

    def follow(profile: Profile, started: float) -> None:
        while True:
            recorder.stage = stage_label_at(profile, time.monotonic() - started)
            gevent.sleep(TICK_S)

    def on_test_start(**_: Any) -> None:
        profile = active_profile(environment)
        if profile is not None:
            recorder.stage = stage_label_at(profile, 0.0)
            tracker.append(gevent.spawn(follow, profile, time.monotonic()))

    def on_test_stop(**_: Any) -> None:
        while tracker:
            tracker.pop().kill(block=False)

    environment.events.test_start.add_listener(on_test_start)
    environment.events.test_stop.add_listener(on_test_stop)
