"""Which budgets apply to a run: a profile that never calls an endpoint cannot be judged on it.

The load and stress mixes send no step executions, so a step budget there is not "no samples,
run incomplete" (exit 3) but simply out of scope: it is left out of the verdict with a note saying
why. The suite's own latency metrics and journeys (`recording/journeys.py`) are scoped; rates,
counters and other declared metrics apply to every run. A budget naming labels (`turn: ">=5"`)
applies when some user class records them (its `labels`), and a budget naming a stage applies
when the run's profile has that stage. When the users do not declare what they measure (custom
locustfiles), every budget applies but those naming a stage the run does not have.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from agentload.recording.journeys import journey_of
from agentload.recording.metrics import BUILTIN, DURATION, NUMBER, SCHEDULED_SUFFIX, parent_metric

from .model import Budget, BudgetFile
from .part import SAMPLE_LABELS

GENERATOR_METRICS = frozenset({"iteration_schedule_lag", "generator_loop_lag", "generator_cpu"})
"""The generator's own measurements: every run has them, whatever requests its users send."""


def exercised_by(user_classes: Iterable[type] | None) -> set[str] | None:
    """The latency metrics the users declare they measure (`metrics`); None when any does not say."""
    declared = [getattr(user_class, "metrics", None) for user_class in user_classes or ()]
    if not declared or not all(declared):
        return None
    return set().union(*declared)


def labels_of(user_classes: Iterable[type] | None) -> set[str]:
    """The label keys the users say their samples carry (`labels`, e.g. AgentSession's `turn`),
    and those the plugin gives any sample (`user`)."""
    declared = {key for user_class in user_classes or () for key in getattr(user_class, "labels", ())}
    return declared | SAMPLE_LABELS


def run_scope(
    budget_file: BudgetFile, user_classes: Iterable[type] | None, stage_names: Iterable[str]
) -> tuple[BudgetFile, tuple[str, ...]]:
    """`in_scope` for a run of `user_classes` following a profile with `stage_names`."""
    return in_scope(budget_file, exercised_by(user_classes), stage_names, labels_of(user_classes))


def in_scope(
    budget_file: BudgetFile,
    exercised: Iterable[str] | None,
    stage_names: Iterable[str] = (),
    label_keys: Iterable[str] = (),
) -> tuple[BudgetFile, tuple[str, ...]]:
    """The budgets this run can be judged on, and one note per budget left out.

    `exercised`: the metrics the users measure (None: unknown, keep all); `stage_names`: the stages
    of the run's profile; `label_keys`: the labels the users' samples carry.
    """
    measured = None if exercised is None else set(exercised)
    stages, labels = set(stage_names), set(label_keys)
    kept, notes = [], []
    for budget in budget_file.budgets:
        why = _out_of_scope(budget, measured, stages, labels)
        if why:
            notes.append(f"{budget.label}: skipped, {why}")
        else:
            kept.append(budget)
    return replace(budget_file, budgets=tuple(kept)), tuple(notes)


def _out_of_scope(budget: Budget, measured: set[str] | None, stages: set[str], labels: set[str]) -> str:
    """Why `budget` cannot be judged on this run, or "" when it can."""
    if budget.stage and budget.stage not in stages:
        known = f" (stages: {', '.join(sorted(stages))})" if stages else ""
        return f'this run\'s profile has no stage "{budget.stage}"{known}'
    if measured is None:
        return ""
    base = parent_metric(budget.metric).removesuffix(SCHEDULED_SUFFIX)
    suite_latency = BUILTIN.get(base) in (DURATION, NUMBER) and base not in GENERATOR_METRICS
    if suite_latency and base not in measured:
        return f"this run sends no requests that measure {base}"
    name = journey_of(budget.metric)
    if name is not None and name not in measured:
        return f"this run's users run no journey {name}"
    missing = sorted(key for key, _ in budget.labels if key not in labels)
    if missing:
        return f"this run's users record no label {', '.join(missing)}"
    return ""
