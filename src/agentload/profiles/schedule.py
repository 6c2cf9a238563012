"""Load profiles as pure data, and the pure maths on them.

Nothing here knows about Locust's runners: a profile is a frozen value, and every question a runner
asks ("how many users of this scenario now?", "when is iteration k due?", "which stage is this?")
is a pure function of the profile and a time in seconds since the profile started. That keeps the
schedule testable at every boundary without starting a single greenlet.

Conventions (k6's):

* A `Stage(duration_s, target)` ramps linearly from the previous target to `target` over
  `duration_s`; a hold is a stage whose target equals the previous one. A stage of zero duration is
  a step: the new target applies from that instant on (values are right-continuous).
* User counts are linear interpolations rounded half up (2.5 -> 3), so a ramp from 0 to 5 over
  30 s reaches 1 user at 3 s, 2 at 9 s, ... and 5 at 27 s.
* Rates are iterations per `time_unit_s`; `rate_at` returns iterations per second. Iteration k
  (k = 0, 1, ...) is due at the first instant the integral of the rate exceeds k, so a constant
  10/s fires k at k/10 s and exactly rate x duration iterations fall inside the schedule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

_EPS = 1e-9
"""Slack for float sums of stage durations and integrals (a schedule of 600.0 iterations is 600)."""


@dataclass(frozen=True)
class Stage:
    """Ramp linearly from the previous target to `target` over `duration_s` (k6's stage)."""

    duration_s: float
    target: float
    label: str = ""
    """Overrides the derived label ("ramp to 50", "hold 50", "ramp down to 0")."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise ValueError(f"stage duration must be a finite number >= 0, got {self.duration_s!r}")
        if not (math.isfinite(self.target) and self.target >= 0):
            raise ValueError(f"stage target must be a finite number >= 0, got {self.target!r}")


@dataclass(frozen=True)
class RampingUsers:
    """A closed model: a number of concurrently running users that follows the stages."""

    stages: tuple[Stage, ...]
    start_target: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        if not self.stages:
            raise ValueError("a RampingUsers schedule needs at least one stage")
        if self.start_target < 0:
            raise ValueError("start_target must be >= 0")


@dataclass(frozen=True)
class ArrivalRate:
    """An open model: iterations start at a rate, whatever the latency (k6's arrival-rate executors).

    Give either `stages` (ramping-arrival-rate, from `start_rate`) or `rate` and `duration_s`
    (constant-arrival-rate). Rates are per `time_unit_s`. `max_concurrency` bounds the iterations in
    flight: an iteration due while all are busy is dropped, not queued. k6's `preAllocatedVUs` has no
    counterpart: an iteration is a greenlet, which costs nothing to allocate, so the executor's
    pool grows to `max_concurrency` as needed.
    """

    stages: tuple[Stage, ...] = ()
    rate: float | None = None
    duration_s: float | None = None
    start_rate: float | None = None
    time_unit_s: float = 1.0
    max_concurrency: int = 1

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        if self.rate is not None:
            if stages or self.duration_s is None:
                raise ValueError("give either stages, or rate and duration_s")
            stages = (Stage(self.duration_s, self.rate),)
            object.__setattr__(self, "start_rate", self.rate)
        if not stages:
            raise ValueError("an ArrivalRate schedule needs stages, or rate and duration_s")
        object.__setattr__(self, "stages", stages)
        if self.start_rate is None:
            object.__setattr__(self, "start_rate", 0.0)
        if not (self.time_unit_s > 0 and math.isfinite(self.time_unit_s)):
            raise ValueError("time_unit_s must be > 0")
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")


Schedule = RampingUsers | ArrivalRate


def arrival_to_wire(schedule: ArrivalRate) -> dict[str, Any]:
    """Plain, msgpack-friendly form, for the master's share message to its workers."""
    common = {"time_unit_s": schedule.time_unit_s, "max_concurrency": schedule.max_concurrency}
    if schedule.rate is not None:
        return {"rate": schedule.rate, "duration_s": schedule.duration_s, **common}
    stages = [[s.duration_s, s.target, s.label] for s in schedule.stages]
    return {"stages": stages, "start_rate": schedule.start_rate, **common}


def arrival_from_wire(wire: dict[str, Any]) -> ArrivalRate:
    common = {"time_unit_s": float(wire["time_unit_s"]), "max_concurrency": int(wire["max_concurrency"])}
    if "rate" in wire:
        return ArrivalRate(rate=wire["rate"], duration_s=wire["duration_s"], **common)
    stages = tuple(Stage(d, t, str(label)) for d, t, label in wire["stages"])
    return ArrivalRate(stages=stages, start_rate=wire["start_rate"], **common)


@dataclass(frozen=True)
class Scenario:
    """One named stream of traffic: a Locust user class driven by a schedule."""

    name: str
    user: type
    schedule: Schedule

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"scenario names are snake_case identifiers, got {self.name!r}")


@dataclass(frozen=True)
class Profile:
    """Scenarios that run at the same time, each on its own schedule. The first one names the stages."""

    name: str
    scenarios: tuple[Scenario, ...]
    description: str = field(default="", compare=False)
    find_breaking_point: bool = field(default=False, compare=False)
    """Report each stage's numbers and the first stage where a budget broke (the stress profile)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "scenarios", tuple(self.scenarios))
        names = [s.name for s in self.scenarios]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"a profile needs scenarios with unique names, got {names}")

    def scenario(self, name: str) -> Scenario:
        return next(s for s in self.scenarios if s.name == name)


# --- piecewise-linear maths ---------------------------------------------------------------------


def _start_value(schedule: Schedule) -> float:
    return float(schedule.start_target if isinstance(schedule, RampingUsers) else schedule.start_rate)


def _segments(schedule: Schedule) -> list[tuple[float, float, float, float]]:
    """(start time, end time, value at start, value at end) for every stage, in order."""
    out, t, value = [], 0.0, _start_value(schedule)
    for stage in schedule.stages:
        out.append((t, t + stage.duration_s, value, float(stage.target)))
        t, value = t + stage.duration_s, float(stage.target)
    return out


def _value_at(schedule: Schedule, t: float) -> float:
    value = _start_value(schedule)
    for start, end, v0, v1 in _segments(schedule):
        if t < start:
            return value
        if t < end:
            return v0 + (v1 - v0) * (t - start) / (end - start)
        value = v1
    return value


def schedule_duration(schedule: Schedule) -> float:
    return sum(stage.duration_s for stage in schedule.stages)


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5 + _EPS)


def users_at(schedule: RampingUsers, t: float) -> int:
    """Users at `t`: linear interpolation inside a ramp, rounded half up; the last target after the end."""
    return round_half_up(_value_at(schedule, t))


def rate_at(schedule: ArrivalRate, t: float) -> float:
    """Iterations per second at `t` (0 after the schedule's end)."""
    if t >= schedule_duration(schedule) - _EPS or t < 0:
        return 0.0
    return _value_at(schedule, t) / schedule.time_unit_s


def _integrals(schedule: ArrivalRate) -> list[tuple[float, float, float, float, float]]:
    """Per segment: (start, duration, rate/s at start, rate/s at end, iterations before the segment)."""
    out, before = [], 0.0
    for start, end, r0, r1 in _segments(schedule):
        r0, r1, d = r0 / schedule.time_unit_s, r1 / schedule.time_unit_s, end - start
        out.append((start, d, r0, r1, before))
        before += (r0 + r1) / 2 * d
    return out


def arrivals_before(schedule: ArrivalRate, t: float) -> float:
    """The integral of the rate from 0 to t: how many iterations are due in [0, t]."""
    total = 0.0
    for start, d, r0, r1, before in _integrals(schedule):
        total = before + (r0 + r1) / 2 * d
        if t < start + d:
            tau = max(0.0, t - start)
            return before + r0 * tau + (r1 - r0) * tau * tau / (2 * d) if d > 0 else before
    return total


def due_time(schedule: ArrivalRate, k: int) -> float | None:
    """When iteration k is due: the first t where `arrivals_before(t)` exceeds k; None if never.

    Inside a segment the integral is r0*tau + a*tau^2/2 with a = (r1 - r0)/d, so tau solves a
    quadratic; the form 2m / (r0 + sqrt(r0^2 + 2am)) is exact and stable for a = 0 and a < 0 too.
    """
    if k < 0:
        raise ValueError("iteration indices start at 0")
    for start, d, r0, r1, before in _integrals(schedule):
        if before + (r0 + r1) / 2 * d <= k + _EPS:
            continue
        m = k - before
        if m <= 0:
            return start
        a = (r1 - r0) / d
        root = math.sqrt(max(0.0, r0 * r0 + 2 * a * m))
        return start + min(d, 2 * m / (r0 + root))
    return None


# --- profiles -----------------------------------------------------------------------------------


def duration(profile: Profile) -> float:
    """The profile ends when its longest scenario does."""
    return max(schedule_duration(s.schedule) for s in profile.scenarios)


def scaled_schedule(schedule: Schedule, factor: float) -> Schedule:
    """The schedule with every stage duration divided by `factor` (> 0)."""
    _check_scale(factor)
    if factor == 1:
        return schedule
    stages = tuple(replace(stage, duration_s=stage.duration_s / factor) for stage in schedule.stages)
    if isinstance(schedule, ArrivalRate):
        return replace(schedule, stages=stages, rate=None, duration_s=None)
    return replace(schedule, stages=stages)


def _check_scale(factor: float) -> None:
    if not (isinstance(factor, int | float) and math.isfinite(factor) and factor > 0):
        raise ValueError(f"time scale must be a finite number > 0, got {factor!r}")


def scaled(profile: Profile, time_scale: float) -> Profile:
    """Every duration divided by `time_scale`; rates (per time unit) and user counts unchanged."""
    _check_scale(time_scale)
    if time_scale == 1:
        return profile
    scenarios = tuple(replace(s, schedule=scaled_schedule(s.schedule, time_scale)) for s in profile.scenarios)
    return replace(profile, scenarios=scenarios)


def _label(stage: Stage, previous: float, unit: str) -> str:
    if stage.label:
        return stage.label
    value = f"{stage.target:g}{unit}"
    if stage.target == previous:
        return f"hold {value}"
    return f"ramp to {value}" if stage.target > previous else f"ramp down to {value}"


def stage_windows(profile: Profile) -> list[tuple[str, float]]:
    """(label, seconds) for every stage of the first scenario, zero-length steps left out.

    The first scenario is the profile's reference (for `budget`, intent_inference); a tail
    window "end" covers the time other scenarios run after it.
    """
    schedule = profile.scenarios[0].schedule
    unit = "/s" if isinstance(schedule, ArrivalRate) else ""
    scale = 1 / schedule.time_unit_s if isinstance(schedule, ArrivalRate) else 1.0
    windows, previous = [], _start_value(schedule)
    for stage in schedule.stages:
        shown = replace(stage, target=stage.target * scale)
        if stage.duration_s > 0:
            windows.append((_label(shown, previous * scale, unit), stage.duration_s))
        previous = stage.target
    tail = duration(profile) - schedule_duration(schedule)
    if tail > _EPS:
        windows.append(("end", tail))
    return windows


def stage_label_at(profile: Profile, t: float) -> str:
    """The label of the stage running at `t` (the first before 0, the last after the end)."""
    windows = stage_windows(profile)
    end = 0.0
    for label, seconds in windows:
        end += seconds
        if t < end:
            return label
    return windows[-1][0]


def targets_at(profile: Profile, t: float, lookahead_s: float = 0.0) -> dict[str, int]:
    """What each scenario should be running now: users for ramping scenarios (taken `lookahead_s`
    ahead, capped at the end), 1 for an arrival-rate scenario still inside its schedule, else 0."""
    end = duration(profile)
    ahead = min(t + lookahead_s, end)
    out: dict[str, int] = {}
    for s in profile.scenarios:
        if isinstance(s.schedule, ArrivalRate):
            out[s.name] = int(0 <= t < schedule_duration(s.schedule))
        else:
            out[s.name] = users_at(s.schedule, ahead) if t < end else 0
    return out


def fixed_users(profile: Profile, users: int, run_time_s: float, spawn_rate: float | None = None) -> Profile:
    """k6's `--vus N --duration T`: the profile's only scenario runs N users for T seconds.

    With a spawn rate the users ramp up at that rate (Locust's `-r`), else they start at once. Only
    profiles with exactly one scenario, a ramping-users one, can be overridden this way.
    """
    ramping = [s for s in profile.scenarios if isinstance(s.schedule, RampingUsers)]
    if len(profile.scenarios) != 1 or len(ramping) != 1:
        raise ValueError(f"profile {profile.name!r} has several scenarios; -u/-t cannot replace it")
    if users < 0 or run_time_s <= 0:
        raise ValueError("need users >= 0 and a run time > 0")
    ramp = users / spawn_rate if spawn_rate else 0.0
    if ramp >= run_time_s:
        schedule = RampingUsers((Stage(run_time_s, users * run_time_s / ramp),))
    elif ramp > 0:
        schedule = RampingUsers((Stage(ramp, users), Stage(run_time_s - ramp, users)))
    else:
        schedule = RampingUsers((Stage(run_time_s, users),), start_target=users)
    return replace(profile, scenarios=(replace(ramping[0], schedule=schedule),))
