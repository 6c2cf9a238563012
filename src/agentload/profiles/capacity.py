"""Capacity at budget: the highest arrival rate at which every budget holds (pure).

`CapacitySearch` decides the rate of each step from the verdicts of the steps before it: a coarse
ramp first (`start`, then x`factor` each step) until a step breaks, then a bisection between the
last rate that held and the first that broke, until they are within `tolerance` of each other (or
`max_steps` ran). A step breaks when a budget in scope fails on the step's own samples, when
iterations were dropped because `max_concurrency` were in flight, when the platform did not keep
up (`shortfall`), or when it never gathered its budgets' `min_samples` before its time ran out (a
platform so slow it cannot be judged is not holding). A step the generator could not drive
(`generator_limit`) ends the search: its outcome says nothing about the platform. The result types
are `agentload.budgets.capacity`, where reporters read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from agentload.budgets.capacity import CapacityResult, StepResult

SCENARIOS = ("intent", "step", "chat", "load_mix")
KEPT_UP = 0.95
"""A step holds only if it achieved at least this share of its offered rate (less two iterations
for the first and last, which the step's edges cut)."""
LATE_P95_MS = 250.0
"""Iterations that started later than this at P95 mean the generator fell behind its schedule
(generous: on a shared 2-core machine a healthy generator's P95 lateness reached about 150 ms)."""
OVERDUE_SHARE = 0.01
"""Iterations dropped as overdue (never started: the generator fell behind) beyond this share of
the offered ones make the step the generator's limit."""


def generator_limit(offered: int, overdue: int, late_p95_ms: float | None) -> str:
    """Why the generator could not drive a step, in words; "" when it could.

    Evidence from the open model: iterations dropped because they were overdue (the generator fell
    behind its schedule, not the platform's `max_concurrency`) and how late iterations started.
    """
    if overdue > max(1, OVERDUE_SHARE * offered):
        return f"{overdue} of {offered} iterations dropped overdue (the generator fell behind its schedule)"
    if late_p95_ms is not None and late_p95_ms > LATE_P95_MS:
        return f"iterations started {late_p95_ms:.0f} ms late at p95 (the generator fell behind its schedule)"
    return ""


def shortfall(rate_per_s: float, seconds: float, started: int) -> str:
    """Why the platform did not keep up, in words; "" when completed plus in flight reached the rate."""
    offered = rate_per_s * seconds
    if started >= KEPT_UP * offered - 2:
        return ""
    achieved = started / seconds if seconds else 0.0
    return f"achieved {achieved:.4g}/s of {rate_per_s:g}/s offered"


def needed_seconds(samples: int, rate_per_s: float) -> float:
    """How long a step at `rate_per_s` takes to gather `samples` (a 1% error budget at 10/s: 30 s)."""
    return samples / rate_per_s if rate_per_s > 0 else 0.0


@dataclass
class CapacitySearch:
    """Coarse ramp, then bisection; `next_rate()` is None when the search is over."""

    start: float = 10.0
    factor: float = 2.0
    tolerance: float = 0.05
    max_steps: int = 16
    target: float | None = None
    steps: list[StepResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.start > 0 or not self.factor > 1 or not 0 < self.tolerance < 1 or self.max_steps < 1:
            raise ValueError("capacity search needs start > 0, factor > 1, 0 < tolerance < 1, max_steps >= 1")

    def bounds(self) -> tuple[float | None, float | None]:
        """(highest rate that held, lowest rate that broke above it); the generator's steps are neither."""
        held = [s.rate_per_s for s in self.steps if s.held]
        low = max(held) if held else None
        broke = [s.rate_per_s for s in self.steps if s.broken and not s.generator_limit]
        broke = [rate for rate in broke if low is None or rate > low]
        return low, (min(broke) if broke else None)

    def next_rate(self) -> float | None:
        if not self.steps:
            return self.start
        last = self.steps[-1]
        if len(self.steps) >= self.max_steps or not self.steps[0].held or last.generator_limit:
            return None
        low, high = self.bounds()
        if high is None:
            return low * self.factor
        if (high - low) / low <= self.tolerance:
            return None
        return round((low + high) / 2, 3)

    def record(self, step: StepResult) -> None:
        self.steps.append(step)

    def result(self, scenario: str = "load_mix") -> CapacityResult:
        low, high = self.bounds()
        platform = [s for s in self.steps if not s.generator_limit]
        first_broken = next((s for s in platform if s.broken and s.rate_per_s == high), None)
        at_capacity = next((s for s in self.steps if s.held and s.rate_per_s == low), None)
        budget = first_broken.broken[0] if first_broken else None
        limited = next((s for s in self.steps if s.generator_limit), None)
        return CapacityResult(
            max_rate_per_s=low,
            broke_at_per_s=high,
            broken_budget=budget,
            broken_observed=first_broken.observed.get(budget) if first_broken and budget else None,
            goodput_per_s=at_capacity.goodput_per_s if at_capacity else None,
            target_per_s=self.target,
            steps=tuple(self.steps),
            scenario=scenario,
            broken_why=first_broken.why.get(budget, "") if first_broken and budget else "",
            generator_limit_per_s=limited.rate_per_s if limited else None,
            generator_why=limited.generator_limit if limited else "",
        )


def goodput(latency_ok: Mapping[str, int], seconds: float) -> float:
    """Requests per second that met every latency budget of their metric."""
    return sum(latency_ok.values()) / seconds if seconds else 0.0
