"""Which budgets apply to a run: a profile that never calls an endpoint cannot be judged on it.

The load and stress mixes send no step executions, so a step budget there is not "no samples,
run incomplete" (exit 3) but simply out of scope: it is left out of the verdict with a note saying
why. Only the suite's own latency metrics are scoped; rates, counters and declared metrics apply to
every run. When the
users do not declare what they measure (custom locustfiles), every budget applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from agentload.recording.metrics import BUILTIN, DURATION, NUMBER, SCHEDULED_SUFFIX, parent_metric

from .model import BudgetFile

GENERATOR_METRICS = frozenset({"iteration_schedule_lag", "generator_loop_lag", "generator_cpu"})
"""The generator's own measurements: every run has them, whatever requests its users send."""


def exercised_by(user_classes: Iterable[type] | None) -> set[str] | None:
    """The latency metrics the users declare they measure (`metrics`); None when any does not say."""
    declared = [getattr(user_class, "metrics", None) for user_class in user_classes or ()]
    if not declared or not all(declared):
        return None
    return set().union(*declared)


def in_scope(budget_file: BudgetFile, exercised: Iterable[str] | None) -> tuple[BudgetFile, tuple[str, ...]]:
    """The budgets for metrics this run exercises, and one note per budget left out."""
    if exercised is None:
        return budget_file, ()
    measured = set(exercised)
    kept, notes = [], []
    for budget in budget_file.budgets:
        base = parent_metric(budget.metric).removesuffix(SCHEDULED_SUFFIX)
        suite_latency = BUILTIN.get(base) in (DURATION, NUMBER) and base not in GENERATOR_METRICS
        if not suite_latency or base in measured:
            kept.append(budget)
        else:
            notes.append(f"{budget.label}: skipped, this run sends no requests that measure {base}")
    return replace(budget_file, budgets=tuple(kept)), tuple(notes)
