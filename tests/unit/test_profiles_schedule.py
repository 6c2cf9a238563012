"""The profile maths is pure, so every boundary and ramp of the three profiles is checked here exactly."""

from __future__ import annotations

import itertools
import math

import pytest

from agentload.profiles.catalog import BudgetShape, LoadShape, StressShape
from agentload.profiles.schedule import (
    ArrivalRate,
    Profile,
    RampingUsers,
    Scenario,
    Stage,
    arrival_from_wire,
    arrival_to_wire,
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

BUDGET, LOAD, STRESS = BudgetShape.profile, LoadShape.profile, StressShape.profile
INTENT = BUDGET.scenario("intent_inference").schedule
STEP = BUDGET.scenario("step_execution").schedule
CHAT = BUDGET.scenario("chat_response").schedule
LOAD_MIX = LOAD.scenarios[0].schedule
STRESS_MIX = STRESS.scenarios[0].schedule


@pytest.mark.parametrize(
    ("t", "intent", "step"),
    [
        (0, 0, 0), (2.9, 0, 0), (3, 1, 0), (5, 1, 1), (15, 3, 2), (27, 5, 3), (30, 5, 3),
        (60, 5, 3), (89.9, 5, 3), (90, 5, 3), (105, 8, 4), (120, 10, 5), (150, 10, 5),
        (180, 10, 5), (187.5, 8, 4), (195, 5, 3),
        (209, 0, 0), (210, 0, 0), (500, 0, 0),
    ],
)  # fmt: skip
def test_budget_users_at_boundaries_and_inside_ramps(t: float, intent: int, step: int) -> None:
    """Budget ramps 0->5->10->0 and 0->3->5->0 at 30 s ramps and 1 min holds."""
    assert (users_at(INTENT, t), users_at(STEP, t)) == (intent, step)


def test_budget_chat_is_constant_ten_per_second_for_the_whole_profile() -> None:
    """chat_response runs 10/s from 0 to 210 s and nothing after."""
    assert [rate_at(CHAT, t) for t in (0, 1, 105, 209.99)] == [10.0] * 4
    assert rate_at(CHAT, 210) == 0.0
    assert duration(BUDGET) == 210.0
    assert CHAT.max_concurrency == 50


@pytest.mark.parametrize(
    ("t", "users"),
    [
        (0, 0), (30, 5), (60, 10), (240, 10), (270, 18), (300, 25), (480, 25), (510, 38), (540, 50),
        (840, 50), (870, 38), (900, 25), (930, 13), (959, 0), (960, 0),
    ],
)  # fmt: skip
def test_load_users_at(t: float, users: int) -> None:
    """Load warms up to 10 in 1 min, holds 3 min, 25 for 3 min, 50 for 5 min, then 25 and 0 at 1 min each."""
    assert users_at(LOAD_MIX, t) == users


@pytest.mark.parametrize(
    ("t", "users"),
    [(0, 0), (30, 25), (60, 50), (240, 50), (270, 75), (300, 100), (480, 100), (510, 150), (540, 200),
     (720, 200), (780, 100), (839, 2), (840, 0)],
)  # fmt: skip
def test_stress_users_at(t: float, users: int) -> None:
    """Stress ramps to 50, 100 and 200 with 3 min holds and 2 min down to 0."""
    assert users_at(STRESS_MIX, t) == users


def test_stress_stages_are_labelled_for_the_breaking_point_report() -> None:
    """Every stress stage has a label and the windows add up to the duration."""
    windows = stage_windows(STRESS)
    assert [w[0] for w in windows] == [
        "ramp to 50", "hold 50", "ramp to 100", "hold 100", "ramp to 200", "hold 200", "ramp down to 0",
    ]  # fmt: skip
    assert sum(s for _, s in windows) == duration(STRESS) == 840


@pytest.mark.parametrize(
    ("t", "label"),
    [(-1, "ramp to 50"), (0, "ramp to 50"), (59.9, "ramp to 50"), (60, "hold 50"), (240, "ramp to 100"),
     (600, "hold 200"), (720, "ramp down to 0"), (10_000, "ramp down to 0")],
)  # fmt: skip
def test_stage_label_at(t: float, label: str) -> None:
    """Labels switch exactly at stage boundaries; before 0 and after the end they clamp."""
    assert stage_label_at(STRESS, t) == label


def test_load_and_budget_windows() -> None:
    """Explicit labels win over derived ones; budget's windows come from its first scenario."""
    assert stage_windows(LOAD)[0] == ("warm up to 10", 60)
    assert [w[0] for w in stage_windows(BUDGET)] == [
        "ramp to 5",
        "hold 5",
        "ramp to 10",
        "hold 10",
        "ramp down to 0",
    ]


@pytest.mark.parametrize("factor", [1, 2, 10, 60, 0.5])
def test_scaling_divides_durations_and_keeps_targets(factor: float) -> None:
    """Scaled profiles reach the same targets at t / F; rates per second are unchanged."""
    for profile in (BUDGET, LOAD, STRESS):
        fast = scaled(profile, factor)
        assert math.isclose(duration(fast), duration(profile) / factor)
        for t in range(0, int(duration(profile)), 7):
            assert targets_at(fast, t / factor) == targets_at(profile, t)
    assert rate_at(scaled(BUDGET, factor).scenario("chat_response").schedule, 1 / factor) == 10.0


def test_budget_at_time_scale_ten() -> None:
    """--time-scale 10 runs budget in 21 s: 5 intent users at 3 s, 10 at 12 s, none at 21 s."""
    fast = scaled(BUDGET, 10)
    assert duration(fast) == pytest.approx(21.0)
    assert targets_at(fast, 3.0) == {"intent_inference": 5, "step_execution": 3, "chat_response": 1}
    assert targets_at(fast, 12.0)["intent_inference"] == 10
    assert targets_at(fast, 21.0) == {"intent_inference": 0, "step_execution": 0, "chat_response": 0}


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan])
def test_scaling_rejects_non_positive_factors(bad: float) -> None:
    """A time scale must be a finite number > 0."""
    with pytest.raises(ValueError):
        scaled(BUDGET, bad)


def test_targets_look_ahead_but_not_past_the_end() -> None:
    """targets_at with a lookahead reads ramps ahead, capped at the profile's end."""
    assert targets_at(BUDGET, 2.0, lookahead_s=1.0)["intent_inference"] == 1
    assert targets_at(BUDGET, 209.5, lookahead_s=1.0) == {
        "intent_inference": 0,
        "step_execution": 0,
        "chat_response": 1,
    }


def test_due_time_constant_rate() -> None:
    """At 10/s iteration k is due at k/10 s and exactly 2100 iterations fit in 210 s."""
    assert [due_time(CHAT, k) for k in (0, 1, 10, 2099)] == pytest.approx([0.0, 0.1, 1.0, 209.9])
    assert due_time(CHAT, 2100) is None
    assert arrivals_before(CHAT, 210.0) == 2100


def test_due_time_inverts_a_ramping_rate_exactly() -> None:
    """For a 0->20/s->0 triangle, due_time is the exact inverse of the quadratic integral."""
    tri = ArrivalRate(stages=(Stage(10, 20), Stage(10, 0)), max_concurrency=5)
    assert due_time(tri, 50) == pytest.approx(math.sqrt(50))  # integral t^2 reaches 50 at sqrt(50)
    assert due_time(tri, 100) == pytest.approx(10.0)
    for k in range(0, 200, 3):
        t = due_time(tri, k)
        assert t is not None and arrivals_before(tri, t) == pytest.approx(k, abs=1e-6)
    assert due_time(tri, 200) is None


def test_due_time_skips_zero_rate_stages_and_honours_time_unit() -> None:
    """A leading zero-rate stage delays iteration 0; rates are per time unit (60/min = 1/s)."""
    delayed = ArrivalRate(stages=(Stage(5, 0), Stage(0, 60), Stage(10, 60)), time_unit_s=60)
    assert due_time(delayed, 0) == pytest.approx(5.0)
    assert due_time(delayed, 3) == pytest.approx(8.0)
    assert rate_at(delayed, 6) == pytest.approx(1.0)
    assert due_time(delayed, 10) is None


def test_due_time_is_monotonic_on_a_ramping_down_rate() -> None:
    """Due times increase with k for a decreasing rate (negative quadratic coefficient)."""
    down = ArrivalRate(stages=(Stage(10, 1),), start_rate=30)
    times = [due_time(down, k) for k in range(155)]
    assert all(a < b for a, b in itertools.pairwise(times))
    assert due_time(down, 155) is None  # (30 + 1) / 2 * 10 = 155 iterations


def test_arrival_rate_validation() -> None:
    """Either stages or rate+duration; max_concurrency >= 1."""
    with pytest.raises(ValueError):
        ArrivalRate(rate=10)
    with pytest.raises(ValueError):
        ArrivalRate(rate=10, duration_s=5, max_concurrency=0)
    with pytest.raises(ValueError):
        Stage(-1, 5)


def test_zero_duration_stage_is_a_step() -> None:
    """A zero-length stage jumps to its target at that instant."""
    step = RampingUsers((Stage(10, 2), Stage(0, 8), Stage(10, 8)))
    assert [users_at(step, t) for t in (9.99, 10, 15)] == [2, 8, 8]


def test_fixed_users_replaces_the_staged_profile() -> None:
    """-u 50 -t 5m: 50 users for 300 s (at once, or ramped at -r)."""
    at_once = fixed_users(LOAD, 50, 300)
    assert duration(at_once) == 300 and targets_at(at_once, 0) == {"load_mix": 50}
    ramped = fixed_users(LOAD, 50, 300, spawn_rate=5)
    assert [users_at(ramped.scenarios[0].schedule, t) for t in (0, 5, 10, 299)] == [0, 25, 50, 50]
    with pytest.raises(ValueError):
        fixed_users(BUDGET, 50, 300)


def test_profiles_validate_scenario_names() -> None:
    """Scenario names are unique snake_case identifiers."""
    sched = RampingUsers((Stage(1, 1),))
    with pytest.raises(ValueError):
        Profile("x", (Scenario("a", object, sched), Scenario("a", object, sched)))
    with pytest.raises(ValueError):
        Scenario("Bad-Name", object, sched)


def test_shapes_declare_their_scenarios_as_classes() -> None:
    """Each shape's profile lists its user classes in declaration order, named in snake_case."""
    assert [s.name for s in BUDGET.scenarios] == ["intent_inference", "step_execution", "chat_response"]
    assert [s.user.__name__ for s in BUDGET.scenarios] == ["IntentInference", "StepExecution", "ChatResponse"]
    assert (LOAD.name, STRESS.name, STRESS.find_breaking_point) == ("load", "stress", True)


def test_arrival_schedule_survives_the_wire() -> None:
    """The share message carries an ArrivalRate as plain data and back, unchanged."""
    ramp = ArrivalRate(stages=(Stage(4, 40, "up"), Stage(1, 40)), start_rate=2, max_concurrency=7)
    assert arrival_from_wire(arrival_to_wire(ramp)) == ramp
    assert arrival_from_wire(arrival_to_wire(CHAT)) == CHAT


def test_arrival_rate_needs_an_agent_user_with_task_methods() -> None:
    """A plain Locust user, or one whose tasks are TaskSets, on an ArrivalRate is refused at definition."""
    from locust import HttpUser, TaskSet, task

    from agentload.profiles.shape import ScenarioShape
    from agentload.traffic.users import AgentUser

    class Plain(HttpUser):
        @task
        def hit(self) -> None: ...

    class Nested(TaskSet):
        @task
        def hit(self) -> None: ...

    class WithTaskSet(AgentUser):
        tasks = [Nested]

    rate = ArrivalRate(rate=1, duration_s=1)
    with pytest.raises(TypeError, match=r"Plain runs on .*, so it must subclass agentload\.AgentUser"):
        type("PlainShape", (ScenarioShape,), {"schedules": {Plain: rate}})
    with pytest.raises(TypeError, match=r"WithTaskSet runs on .*, so its tasks must be @task methods"):
        type("NestedShape", (ScenarioShape,), {"schedules": {WithTaskSet: rate}})
