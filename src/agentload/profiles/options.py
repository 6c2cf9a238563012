"""The two options the profiles read at run time: the time scale, and Locust's -u/-r/-t override.

The time scale itself is parsed once, by `agentload.settings`; this module only reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentload.run_context import run_context
from agentload.settings import load


def time_scale(environment: Any) -> float:
    """The run's time scale, as `agentload.settings` parsed it (--time-scale / AGENTLOAD_TIME_SCALE)."""
    if environment is None:  # a shape not yet attached to a runner
        return load(None, None).time_scale
    return run_context(environment).settings.time_scale


@dataclass(frozen=True)
class FixedLoad:
    """k6's `--vus N --duration T`, from Locust's `-u N -t T` (and `-r`, the ramp-up rate)."""

    users: int
    run_time_s: float
    spawn_rate: float | None


def remember_given_options(environment: Any) -> None:
    """Called at `init` (before Locust defaults -u to 1 in headless runs): was -u given?"""
    options = getattr(environment, "parsed_options", None)
    run_context(environment).users_given = getattr(options, "num_users", None) is not None


def fixed_load(environment: Any) -> FixedLoad | None:
    """The -u/-t override, or None when the staged profile applies.

    Both -u and -t must be set. Headless Locust sets -u to 1 when it was not given; if `install()`
    ran at `init` it remembered whether -u was given, so `-t 5m` alone only caps the profile.
    """
    options = getattr(environment, "parsed_options", None)
    users, run_time = getattr(options, "num_users", None), getattr(options, "run_time", None)
    if not users or not run_time:
        return None
    headless = getattr(options, "headless", False)
    if headless and environment is not None and run_context(environment).users_given is False:
        return None
    return FixedLoad(int(users), float(run_time), getattr(options, "spawn_rate", None) or None)
