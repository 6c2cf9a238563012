"""The budgets.yaml model and the verdict it produces, as frozen dataclasses.

Everything here is plain data shared by the loader, the pure evaluation and every reporter, so
none of them has to know about the others (or about Locust).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agentload.recording.metrics import kind_of

if TYPE_CHECKING:
    from .explain import Explanation

CRITICALITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")

PASS = "PASS"
WARN = "WARN"
FAIL = "FAIL"
INCONCLUSIVE = "INCONCLUSIVE"
STATUS_ORDER = (PASS, WARN, INCONCLUSIVE, FAIL)
"""Statuses from best to worst; the run gets the worst one that its policy lets count."""

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_CONFIG = 2
EXIT_INCOMPLETE = 3


@dataclass(frozen=True)
class Budget:
    """One line of the budget table: `stat(metric) < threshold`, e.g. p95(intent_inference_latency) < 800 ms.

    `threshold` is in the metric's unit: milliseconds for durations, a fraction (0.01) for rates,
    a plain number for counts and numbers. `comparison` is "<" (stay below) or ">" (stay above,
    for throughput-like metrics such as tokens per second).
    """

    metric: str
    stat: str
    threshold: float
    criticality: str = "HIGH"
    warn_margin: float = 0.10
    min_samples: int | None = None
    comparison: str = "<"
    name: str = ""
    line: int = 0
    kind: str = ""
    """The metric's kind (duration, number, rate, count); looked up from the metric when not given."""
    stage: str = ""
    """Judge only the samples of this profile stage (`hold 50`); "" for the whole run."""
    labels: tuple[tuple[str, str], ...] = ()
    """Judge only the labeled series whose labels match: (key, matcher) pairs like ("turn", ">=5")."""
    after: float = 0.0
    """Judge only the samples recorded this many seconds (profile clock) after test start or later."""
    before: float | None = None
    """...and before this many seconds; None: until the end of the run."""

    def __post_init__(self) -> None:
        if not self.kind:
            object.__setattr__(self, "kind", kind_of(self.metric))

    @property
    def series(self) -> str:
        """The metric with the labels it names, in k6's sub-metric notation: `m{turn:>=5}`."""
        if not self.labels:
            return self.metric
        return f"{self.metric}{{{','.join(f'{key}:{matcher}' for key, matcher in self.labels)}}}"

    @property
    def windowed(self) -> bool:
        return self.after > 0 or self.before is not None

    @property
    def part(self) -> str:
        """The part of the run it judges, as reports say it: ` during hold 50 after 60s`, or ""."""
        text = f" during {self.stage}" if self.stage else ""
        if self.after > 0 and self.before is not None:
            return f"{text} from {self.after:g}s to {self.before:g}s"
        if self.after > 0:
            text += f" after {self.after:g}s"
        if self.before is not None:
            text += f" before {self.before:g}s"
        return text

    @property
    def title(self) -> str:
        """What reports show in their METRIC column: the name, else the series and its part of the run."""
        return self.name or f"{self.series}{self.part}"

    @property
    def label(self) -> str:
        return self.name or f"{self.series} {self.stat}{self.part}"


@dataclass(frozen=True)
class Policy:
    """Which results fail the run; by default every criticality fails the run, and so does any 5xx."""

    fail_on: tuple[str, ...] = CRITICALITIES
    inconclusive_fails: bool = True
    shed_counts_as_error: bool = True
    fail_on_5xx: bool = True
    lost_workers_fail: bool = True
    regression_fails: bool = False
    regression_margin: float = 0.10


@dataclass(frozen=True)
class BudgetFile:
    budgets: tuple[Budget, ...]
    policy: Policy = field(default_factory=Policy)
    path: str = "budgets.yaml"
    metrics: Mapping[str, str] = field(default_factory=dict)
    """The `metrics:` section: request metrics (and others) declared by name and kind."""


@dataclass(frozen=True)
class BudgetResult:
    """The outcome of one budget. `observed` is None when there were no samples at all."""

    budget: Budget
    status: str
    observed: float | None
    samples: int
    ci_low: float | None = None
    ci_high: float | None = None
    marginal: bool = False
    message: str = ""
    explanation: Explanation | None = None
    """For a failing latency budget: where its slow tail spent its time (`explain`)."""
    generator_bound: bool = False
    """INCONCLUSIVE because the load generator's own delay can explain the FAIL (`generator_bound`)."""
    reason: str = ""
    """Why an INCONCLUSIVE is undecided, in words ("only 40 samples, 72 needed"); empty otherwise.
    Every reporter reads it from here (through `text`), so whoever decides the status sets it."""

    @property
    def text(self) -> str:
        """The one line every reporter prints: the message, then the reason it is undecided."""
        if not self.reason:
            return self.message
        return f"{self.message}; {self.reason}" if self.message else self.reason


@dataclass(frozen=True)
class Regression:
    """A metric whose P95 got worse than the baseline by more than the margin, beyond noise."""

    metric: str
    baseline_p95: float
    current_p95: float
    change: float
    significant: bool


@dataclass(frozen=True)
class Verdict:
    """The run's result: per-budget results, the overall status and the exit code it implies."""

    status: str
    exit_code: int
    results: tuple[BudgetResult, ...]
    incomplete: tuple[str, ...] = ()
    regressions: tuple[Regression, ...] = ()
    notes: tuple[str, ...] = ()
