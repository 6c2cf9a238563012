"""The suite's three load profiles as Locust shapes (the k6 suite's `options.scenarios` and `stages`).

Durations the spec left open, and why:

* budget: 30 s ramps and 1 min holds as specified (3.5 min in all). chat_response is an open model
  at 10 requests/s for the whole profile, at most 50 in flight:
  with chat's ~2 s budget that is 2.5x the concurrency a healthy platform needs (10/s x 2 s = 20),
  and past it iterations are dropped (counted) rather than queued.
* load: ramps of 1 min between the specified holds, ramp-down 50 -> 25 -> 0 at 1 min each (16 min).
* stress: 1 min ramps, 3 min holds at 50, 100 and 200, then 2 min down to 0 (<= 1.7 users/s anywhere).
* sessions: concurrent agent sessions, 1 min ramps to 10 then 20 held 3 min each, 1 min down (9 min):
  a session lasts about 10 s, so the 20-session hold gives some 300 sessions.
"""

from __future__ import annotations

from agentload.profiles.schedule import ArrivalRate, RampingUsers, Stage
from agentload.profiles.shape import ScenarioShape
from agentload.traffic.sessions import AgentSession
from agentload.traffic.users import ChatResponse, IntentInference, LoadMix, StepExecution, StressMix

MINUTE = 60.0


def _budget_ramp(low: int, high: int) -> RampingUsers:
    return RampingUsers(
        (Stage(30, low), Stage(MINUTE, low), Stage(30, high), Stage(MINUTE, high), Stage(30, 0))
    )


class BudgetShape(ScenarioShape):
    """Per-endpoint performance budgets: three scenarios at once."""

    schedules = {
        IntentInference: _budget_ramp(5, 10),
        StepExecution: _budget_ramp(3, 5),
        ChatResponse: ArrivalRate(rate=10, duration_s=3.5 * MINUTE, max_concurrency=50),
    }


class LoadShape(ScenarioShape):
    """Production-like mix: warm-up, 10 -> 25 -> 50 users, ramp-down."""

    schedules = {
        LoadMix: RampingUsers(
            (
                Stage(MINUTE, 10, "warm up to 10"),
                Stage(3 * MINUTE, 10),
                Stage(MINUTE, 25),
                Stage(3 * MINUTE, 25),
                Stage(MINUTE, 50),
                Stage(5 * MINUTE, 50),
                Stage(MINUTE, 25),
                Stage(MINUTE, 0),
            )
        ),
    }


def ramp_and_hold(levels: tuple[int, ...], down_s: float) -> RampingUsers:
    """Each level of users reached in a minute and held three, then down to none in `down_s`."""
    stages = [stage for users in levels for stage in (Stage(MINUTE, users), Stage(3 * MINUTE, users))]
    return RampingUsers((*stages, Stage(down_s, 0)))


class StressShape(ScenarioShape):
    """Find the breaking point: 50 -> 100 -> 200 users, stress-weighted mix."""

    find_breaking_point = True
    schedules = {
        StressMix: ramp_and_hold((50, 100, 200), down_s=2 * MINUTE),
    }


class SessionsShape(ScenarioShape):
    """Concurrent agent sessions (AgentSession): 10, then 20 at once, each a whole conversation."""

    schedules = {
        AgentSession: ramp_and_hold((10, 20), down_s=MINUTE),
    }
