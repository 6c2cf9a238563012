"""Stress analysis: the load at which the budgets first broke, and whether the platform degraded gracefully.

A stress profile runs named stages of rising load (`snapshot.meta["stage_windows"]`, each with its
length in seconds) and the snapshot keeps each stage's own numbers (`snapshot.stages`). For every
stage this module computes the achieved throughput (requests / seconds), the P95 of each duration
metric, the hard-error rate (the `errors` counter, i.e. non-shed failures, / requests), the shed
rate, and whether every budget held there. Every budget that fails the run under the policy
(criticality in `fail_on`, all budgets if that selects none, plus the synthetic "no HTTP 5xx"
budget of policy.fail_on_5xx) is judged on the stage's own snapshot by the gate's
`evaluate_budget` with min_samples set to 0: FAIL means broken, and a budget with nothing observed
in the stage is skipped (a stage where nothing could be judged has `held` None). The breaking
point is the first stage, in schedule order, where a budget broke; the last healthy stage is the
last stage before it where every budget held.

Degradation is **graceful** when, over every stage with requests at or after the breaking point:

1. hard errors (every failure that is not shedding: timeouts, 5xx, resets, refused connections,
   truncated streams, invalid bodies) are at most 1% of each such stage's requests;
2. failures are mostly shedding: summed over those stages, shed requests (429, or 503 with
   Retry-After) are at least as many as hard errors;
3. latency stays bounded: the P95 of each duration metric (except `iteration_schedule_lag` and
   `generator_loop_lag`, which measure the load generator) is at most 3x its P95 in the last
   healthy stage; when that stage has no P95 for the metric (or there is no healthy stage), at
   most 2x the smallest "<" threshold
   budgeted for the metric; a metric with neither reference is not checked.

Otherwise it is **not graceful**, and every violated condition is listed as a reason. When no
budget broke in any stage the breaking point is "none found" and graceful is None.

Which component grew first. Each stage also keeps the mean of every part of every request metric
(`<metric>.<part>`: the Server-Timing components, `other` and `client`; `app` is the whole, not a
part). Walking the stages in order, the first pair of consecutive stages in which a part's mean grew
by at least 1.5x and by at least 5 ms names the component that gave way first (when several grew at
that step, the one that grew most in ms). Part metrics are left out of rule 3: a queue that grows
from microseconds is not, by itself, unbounded latency.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agentload.budgets.evaluate import FIVE_XX_BUDGET, evaluate_budget
from agentload.budgets.model import FAIL, Budget, BudgetFile, Policy
from agentload.formatting import format_duration, format_percent
from agentload.recording.counts import hard_error_count, hard_errors, ratio, shed_count
from agentload.recording.labels import base
from agentload.recording.metrics import DURATION, kind_of, ordered_metric_names, parent_metric
from agentload.recording.recorder import Delta, Snapshot

HARD_ERROR_LIMIT = 0.01
LATENCY_GROWTH_LIMIT = 3.0
THRESHOLD_FACTOR_LIMIT = 2.0
UNCHECKED_LATENCIES = frozenset({"iteration_schedule_lag", "generator_loop_lag"})
GROWTH_FACTOR = 1.5
GROWTH_MIN_MS = 5.0
RULE = (
    "graceful when, in every stage at/after the breaking point: hard (non-shed) errors <= 1% of "
    "requests; shed requests >= hard errors (summed over those stages); and each duration metric's "
    "P95 <= 3x its P95 in the last healthy stage (or, without one, <= 2x its smallest '<' budget "
    "threshold)"
)


@dataclass(frozen=True)
class StageResult:
    """The numbers of one stage and the labels of the budgets it broke (`held` None: no data)."""

    name: str
    seconds: float | None
    requests: int
    rps: float | None
    p95: Mapping[str, float | None]
    errors: int
    error_rate: float | None
    shed_rate: float | None
    hard_errors: Mapping[str, int]
    shed: int
    held: bool | None
    broken: tuple[str, ...] = ()
    parts: Mapping[str, float] = field(default_factory=dict)
    """Mean ms of each request metric's parts in this stage (`intent_inference_latency.llm`)."""


@dataclass(frozen=True)
class ComponentGrowth:
    """The first part that grew between two consecutive stages (see the module docstring)."""

    metric: str
    part: str
    from_stage: str
    to_stage: str
    before_ms: float
    after_ms: float

    @property
    def text(self) -> str:
        return (
            f"{self.part} grew first: {self.metric} {self.part} mean {format_duration(self.before_ms)} -> "
            f"{format_duration(self.after_ms)} from stage {self.from_stage} to {self.to_stage}"
        )


def first_growth(stages: Sequence[StageResult]) -> ComponentGrowth | None:
    """The first part whose mean grew >= 1.5x and >= 5 ms between consecutive stages with data."""
    active = [s for s in stages if s.parts]
    for before, after in itertools.pairwise(active):
        grown = [
            (after.parts[name] - old, name)
            for name, old in before.parts.items()
            if name in after.parts
            and after.parts[name] >= GROWTH_FACTOR * old
            and after.parts[name] - old >= GROWTH_MIN_MS
        ]
        if grown:
            _, name = max(grown)
            metric, _, part = name.rpartition(".")
            old, new = before.parts[name], after.parts[name]
            return ComponentGrowth(metric, part, before.name, after.name, old, new)
    return None


@dataclass(frozen=True)
class BreakingPointReport:
    """Per-stage results, where the budgets broke, and whether the platform degraded gracefully."""

    stages: tuple[StageResult, ...]
    breaking_stage: str | None
    last_healthy_stage: str | None
    graceful: bool | None
    reasons: tuple[str, ...] = ()
    rule: str = field(default=RULE)
    growth: ComponentGrowth | None = None

    @property
    def found(self) -> bool:
        return self.breaking_stage is not None

    def stage(self, name: str | None) -> StageResult | None:
        return next((s for s in self.stages if s.name == name), None) if name is not None else None


def normalize_windows(windows: Iterable[Any]) -> list[tuple[str, float | None]]:
    """(name, seconds) pairs from tuples or from `{"name": ..., "seconds": ...}` mappings."""
    pairs: list[tuple[str, float | None]] = []
    for window in windows:
        name, seconds = (window["name"], window.get("seconds")) if isinstance(window, Mapping) else window
        pairs.append((str(name), float(seconds) if seconds is not None else None))
    return pairs


def stage_snapshot(delta: Delta) -> Snapshot:
    """A Snapshot holding only one stage's numbers."""
    return Snapshot(histograms=delta.histograms, counters=delta.counters, errors=delta.errors)


def gating_budgets(budget_file: BudgetFile) -> tuple[Budget, ...]:
    """The budgets whose breach fails the run under the policy (all of them if none would).

    As in the gate, policy.fail_on_5xx adds the synthetic "no HTTP 5xx" budget when the file has no
    http_5xx budget of its own.
    """
    budgets, policy = tuple(budget_file.budgets), budget_file.policy
    gating = tuple(b for b in budgets if b.criticality in policy.fail_on) or budgets
    if policy.fail_on_5xx and not any(b.metric == FIVE_XX_BUDGET.metric for b in budgets):
        gating += (FIVE_XX_BUDGET,)
    return gating


def broken_budgets(snapshot: Snapshot, budgets: Sequence[Budget], policy: Policy) -> tuple[str, ...] | None:
    """Labels of the budgets `snapshot` breaks; None when no budget had anything to check.

    Each budget is judged by the gate's own `evaluate_budget`, with its min_samples set to 0.
    """
    results = [evaluate_budget(replace(b, min_samples=0), snapshot, policy) for b in budgets]
    judged = [r for r in results if r.observed is not None]
    return tuple(r.budget.label for r in judged if r.status == FAIL) if judged else None


def analyse_stage(
    name: str, seconds: float | None, delta: Delta | None, budget_file: BudgetFile
) -> StageResult:
    """The numbers of one stage and whether every gating budget held in it."""
    snap = stage_snapshot(delta or Delta())
    requests = snap.counter("requests")
    durations = [
        m
        for m in ordered_metric_names(snap.histograms)
        if kind_of(m) == DURATION and snap.histograms[m].count and parent_metric(m) == m
    ]
    parts = {
        m: snap.histograms[m].mean
        for m in ordered_metric_names(snap.histograms)
        if parent_metric(m) != m and not m.endswith(".app") and snap.histograms[m].count
    }
    broken = broken_budgets(snap, gating_budgets(budget_file), budget_file.policy) if requests else None
    return StageResult(
        name=name,
        seconds=seconds,
        requests=requests,
        rps=requests / seconds if seconds else None,
        p95={m: snap.histograms[m].percentile(95) for m in durations},
        errors=hard_error_count(snap),
        error_rate=ratio(hard_error_count(snap), requests),
        shed_rate=ratio(shed_count(snap), requests),
        hard_errors=hard_errors(snap),
        shed=shed_count(snap),
        held=None if broken is None else not broken,
        broken=broken or (),
        parts=parts,
    )


def analyse_stages(
    snapshot: Snapshot,
    budget_file: BudgetFile,
    stage_windows: Iterable[Any] | None = None,
) -> BreakingPointReport:
    """Per-stage analysis, breaking point and degradation class (see the module docstring).

    Windows default to `snapshot.meta["stage_windows"]`, else to the snapshot's stages in their
    recorded order with unknown lengths (no requests per second then).
    """
    if stage_windows is None:
        stage_windows = snapshot.meta.get("stage_windows") or [(name, None) for name in snapshot.stages]
    windows = normalize_windows(stage_windows)
    stages = tuple(analyse_stage(n, s, snapshot.stages.get(n), budget_file) for n, s in windows)
    broke = next((i for i, s in enumerate(stages) if s.held is False), None)
    growth = first_growth(stages)
    if broke is None:
        healthy = next((s.name for s in reversed(stages) if s.held), None)
        return BreakingPointReport(stages, None, healthy, None, growth=growth)
    healthy_stage = next((s for s in reversed(stages[:broke]) if s.held), None)
    reasons = degradation_reasons(stages[broke:], healthy_stage, budget_file)
    healthy = healthy_stage.name if healthy_stage else None
    return BreakingPointReport(
        stages, stages[broke].name, healthy, not reasons, tuple(reasons), growth=growth
    )


def degradation_reasons(
    after: Sequence[StageResult], healthy: StageResult | None, budget_file: BudgetFile
) -> list[str]:
    """Why the degradation in `after` (the stages from the breaking point on) is not graceful."""
    active = [s for s in after if s.requests]
    reasons = [r for s in active for r in _error_reasons(s)]
    hard = sum(s.errors for s in active)
    shed = sum(s.shed for s in active)
    if hard > shed:
        reasons.append(f"failures are mostly hard errors, not shedding: {hard} hard errors vs {shed} shed")
    bounds = latency_bounds(healthy, budget_file)
    reasons += [r for s in active for r in _latency_reasons(s, healthy, bounds)]
    return reasons


def _error_reasons(stage: StageResult) -> list[str]:
    rate = stage.error_rate or 0.0
    if rate <= HARD_ERROR_LIMIT:
        return []
    top = list(stage.hard_errors.items())[:3]
    detail = ", ".join(f"{name} {format_percent(n / stage.requests)}" for name, n in top)
    return [
        f"hard errors: {format_percent(rate)} of requests at stage {stage.name}"
        + (f" ({detail})" if detail else "")
    ]


def latency_bounds(healthy: StageResult | None, budget_file: BudgetFile) -> dict[str, tuple[float, str]]:
    """Metric -> (largest acceptable P95, why) under rule 3 of the module docstring."""
    bounds: dict[str, tuple[float, str]] = {}
    for budget in sorted(budget_file.budgets, key=lambda b: -b.threshold):
        if budget.kind == DURATION and budget.comparison == "<":
            limit = THRESHOLD_FACTOR_LIMIT * budget.threshold
            bounds[budget.metric] = (
                limit,
                f"over {THRESHOLD_FACTOR_LIMIT:g}x its budget {format_duration(budget.threshold)}",
            )
    for metric, p95 in (healthy.p95 if healthy else {}).items():
        if p95:
            bounds[metric] = (
                LATENCY_GROWTH_LIMIT * p95,
                f"vs {format_duration(p95)} at stage {healthy.name}",
            )
    return {m: b for m, b in bounds.items() if base(m) not in UNCHECKED_LATENCIES}


def _latency_reasons(
    stage: StageResult, healthy: StageResult | None, bounds: Mapping[str, tuple[float, str]]
) -> list[str]:
    reasons = []
    for metric, p95 in stage.p95.items():
        if p95 is None or metric not in bounds or p95 <= bounds[metric][0]:
            continue
        reference = healthy.p95.get(metric) if healthy else None
        growth = f"grew {p95 / reference:.1f}×" if reference else f"reached {format_duration(p95)}"
        reasons.append(
            f"{metric} p95 {growth} (unbounded) at stage {stage.name}: "
            f"{format_duration(p95)} {bounds[metric][1]}"
        )
    return reasons
