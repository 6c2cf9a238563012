"""What a capacity sweep concluded, as plain frozen data: every reporter may read it.

The search that produces it is `agentload.profiles.capacity` (reporters read no profile). A step
holds when every budget in scope held on its own samples, no iteration was dropped, the platform
kept up (achieved throughput within a few percent of the offered rate) and the generator could
drive it. A step the generator could not drive ends the sweep: what it measured is the generator's
limit, not the platform's, and the sweep exits 3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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
    started: int | None = None
    """Iterations started in the step: those completed plus those still in flight at its end."""
    why: Mapping[str, str] = field(default_factory=dict)
    """Broken label -> the reason in words, where a number would mislead (too few samples)."""
    generator_limit: str = ""
    """Why the generator could not drive this step; empty when it could."""
    needed_s: float = 0.0
    """How long the budgets' `min_samples` needed at this rate (the step ran at least that long)."""

    @property
    def held(self) -> bool:
        return not self.broken and not self.generator_limit

    @property
    def achieved_per_s(self) -> float:
        """Throughput offered to the platform: completed plus in flight, per second."""
        count = self.requests if self.started is None else self.started
        return count / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class CapacityResult:
    """The search's conclusion and the exit code it implies."""

    max_rate_per_s: float | None
    broke_at_per_s: float | None
    broken_budget: str | None
    broken_observed: float | None
    goodput_per_s: float | None
    target_per_s: float | None
    steps: tuple[StepResult, ...]
    scenario: str = "load_mix"
    broken_why: str = ""
    """The first broken budget's reason in words, when it has one (then it replaces the number)."""
    generator_limit_per_s: float | None = None
    """The rate of the step the generator could not drive; None when it drove every step."""
    generator_why: str = ""

    @property
    def exit_code(self) -> int:
        if self.max_rate_per_s is None or self.generator_limit_per_s is not None:
            return EXIT_INCOMPLETE
        if self.target_per_s is not None and self.max_rate_per_s < self.target_per_s:
            return EXIT_BELOW
        return EXIT_OK


def step_order(steps: Sequence[StepResult]) -> list[StepResult]:
    """Steps by rate (the table's order), the run order breaking ties."""
    return sorted(steps, key=lambda s: s.rate_per_s)
