"""Capacity at budget: the highest arrival rate at which every budget holds (pure).

`CapacitySearch` decides the rate of each step from the verdicts of the steps before it: a coarse
ramp first (`start`, then x`factor` each step) until a step breaks, then a bisection between the
last rate that held and the first that broke, until they are within `tolerance` of each other (or
`max_steps` ran). A step breaks when a budget in scope fails on the step's own samples, when
iterations were dropped (the generator could not even start them), or when it never gathered its
budgets' `min_samples` before its time ran out (a platform so slow it cannot be judged is not
holding). The result is the capacity (the highest rate that held), the first rate that broke and
why, and the goodput at capacity: requests per second that met every latency budget.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

SCENARIOS = ("intent", "step", "chat", "load_mix")
EXIT_OK, EXIT_BELOW, EXIT_INCOMPLETE = 0, 1, 3


@dataclass(frozen=True)
class StepResult:
    """One step: its rate, what was achieved, and the budgets it broke (empty: it held)."""

    rate_per_s: float
    seconds: float
    requests: int
    broken: tuple[str, ...] = ()
    observed: Mapping[str, float] = field(default_factory=dict)
    """Budget label -> observed statistic, for the broken ones."""
    dropped: int = 0
    goodput_per_s: float = 0.0
    p95: Mapping[str, float] = field(default_factory=dict)

    @property
    def held(self) -> bool:
        return not self.broken

    @property
    def achieved_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class CapacityResult:
    """The search's conclusion (see the module docstring) and the exit code it implies."""

    max_rate_per_s: float | None
    broke_at_per_s: float | None
    broken_budget: str | None
    broken_observed: float | None
    goodput_per_s: float | None
    target_per_s: float | None
    steps: tuple[StepResult, ...]
    scenario: str = "load_mix"

    @property
    def exit_code(self) -> int:
        if self.max_rate_per_s is None:
            return EXIT_INCOMPLETE
        if self.target_per_s is not None and self.max_rate_per_s < self.target_per_s:
            return EXIT_BELOW
        return EXIT_OK


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
        """(highest rate that held, lowest rate that broke above it)."""
        held = [s.rate_per_s for s in self.steps if s.held]
        low = max(held) if held else None
        broke = [s.rate_per_s for s in self.steps if not s.held and (low is None or s.rate_per_s > low)]
        return low, (min(broke) if broke else None)

    def next_rate(self) -> float | None:
        if not self.steps:
            return self.start
        if len(self.steps) >= self.max_steps or not self.steps[0].held:
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
        first_broken = next((s for s in self.steps if not s.held and s.rate_per_s == high), None)
        at_capacity = next((s for s in self.steps if s.held and s.rate_per_s == low), None)
        budget = first_broken.broken[0] if first_broken else None
        return CapacityResult(
            max_rate_per_s=low,
            broke_at_per_s=high,
            broken_budget=budget,
            broken_observed=first_broken.observed.get(budget) if first_broken and budget else None,
            goodput_per_s=at_capacity.goodput_per_s if at_capacity else None,
            target_per_s=self.target,
            steps=tuple(self.steps),
            scenario=scenario,
        )


def goodput(latency_ok: Mapping[str, int], seconds: float) -> float:
    """Requests per second that met every latency budget of their metric."""
    return sum(latency_ok.values()) / seconds if seconds else 0.0


def step_order(steps: Sequence[StepResult]) -> list[StepResult]:
    """Steps by rate (the table's order), the run order breaking ties."""
    return sorted(steps, key=lambda s: s.rate_per_s)
