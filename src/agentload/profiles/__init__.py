"""Load profiles: pure data and maths (`schedule`), their Locust classes, and the open-model executor.

A locustfile is as thin as::

    import locust  # noqa: F401  (gevent monkey-patching first)
    from agentload import plugin  # noqa: F401  (wires events, calls profiles.install at init)
    from agentload.profiles import BUDGET, locust_classes
    IntentInference, StepExecution, ChatResponse, BudgetShape = locust_classes(BUDGET)

Importing this package registers nothing with Locust; `install(environment)` does, at `init`.
"""

from __future__ import annotations

import sys

from agentload.profiles.arrival import ArrivalRateUser, Epoch, next_owned, share_book
from agentload.profiles.catalog import BUDGET, LOAD, PROFILES, STRESS
from agentload.profiles.dispatcher import ScenarioDispatcher, TargetList, distribute, install, ramp_slices
from agentload.profiles.options import fixed_load, time_scale
from agentload.profiles.schedule import (
    ArrivalRate,
    Profile,
    RampingUsers,
    Scenario,
    Stage,
    arrivals_before,
    due_time,
    duration,
    fixed_users,
    rate_at,
    scaled,
    stage_label_at,
    stage_windows,
    targets_at,
    users_at,
)
from agentload.profiles.shape import ProfileShape, shape_for

__all__ = [
    "BUDGET",
    "LOAD",
    "PROFILES",
    "STRESS",
    "ArrivalRate",
    "ArrivalRateUser",
    "Epoch",
    "Profile",
    "ProfileShape",
    "RampingUsers",
    "Scenario",
    "ScenarioDispatcher",
    "Stage",
    "TargetList",
    "arrivals_before",
    "camel_case",
    "distribute",
    "due_time",
    "duration",
    "fixed_load",
    "fixed_users",
    "install",
    "locust_classes",
    "next_owned",
    "ramp_slices",
    "rate_at",
    "scaled",
    "share_book",
    "stage_label_at",
    "stage_windows",
    "targets_at",
    "time_scale",
    "users_at",
]


def camel_case(name: str) -> str:
    """intent_inference -> IntentInference."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def _scenario_class(scenario: Scenario, module: str) -> type:
    name = camel_case(scenario.name)
    attrs: dict[str, object] = {"abstract": False, "__module__": module, "__qualname__": name}
    if isinstance(scenario.schedule, ArrivalRate):
        attrs |= {
            "schedule": scenario.schedule,
            "scenario": scenario.name,
            "concurrency": scenario.schedule.max_concurrency,
        }
        return type(name, (ArrivalRateUser, scenario.user), attrs)
    return type(name, (scenario.user,), attrs)


def locust_classes(profile: Profile, module: str | None = None) -> tuple[type, ...]:
    """Concrete user classes, one per scenario in order (CamelCase names), then the `<Name>Shape`.

    Arrival-rate scenarios combine `ArrivalRateUser` with the scenario's user class (a coordinator
    per worker); the others subclass the scenario's user class. `module` defaults to the caller's.
    """
    module = module or sys._getframe(1).f_globals.get("__name__", __name__)
    classes = {s.name: _scenario_class(s, module) for s in profile.scenarios}
    shape = shape_for(profile, classes, f"{camel_case(profile.name)}Shape", module)
    return (*classes.values(), shape)
