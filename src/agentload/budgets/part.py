"""The part of a run a budget judges: a profile stage, a time window, the labeled series its labels match.

Pure: a `Snapshot` in, a smaller `Snapshot` out, which the evaluation then reads exactly as it
reads a whole run. A stage is the key every `Delta` is filed under (`Recorder.stage`), so
`stage: hold 50` reads that stage's merged delta. A window (`after: 60s`, `before: 300s`) merges
the window slots (`recording/windows.py`) from `after` up to `before`: its boundaries are slot
boundaries, so the merge is exact. Labels select labeled series
(`chat_time_to_first_token{turn:5}`, see `recording/labels.py`) whose labels all match, and merge
them back under the metric's own name: `turn: ">=5"` merges turns 5, 6, ... exactly (histograms
and counters merge without loss).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping

from agentload.recording.histogram import Histogram
from agentload.recording.labels import split
from agentload.recording.recorder import Delta, Snapshot, snapshot_of
from agentload.recording.windows import RecordingPlan

from .model import Budget, BudgetFile

SAMPLE_LABELS = frozenset({"user"})
"""Labels the plugin adds to any sample, but only when a budget names them (`RecordingPlan.labels`)."""

_COMPARISON = re.compile(r"(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def parse_matcher(text: str) -> Callable[[str], bool]:
    """`">=5"` matches label values 5, 6, ...; `"<3"` 1 and 2; any other text matches itself."""
    found = _COMPARISON.fullmatch(text.strip())
    if found is None:
        return lambda value: value == text
    compare, bound = _OPERATORS[found.group(1)], float(found.group(2))

    def matches(value: str) -> bool:
        try:
            return compare(float(value), bound)
        except ValueError:
            return False

    return matches


def part_of_run(budget: Budget, snapshot: Snapshot) -> Snapshot:
    """The samples `budget` judges: its stage's, then only its labels' (the whole run by default)."""
    part = snapshot
    if budget.windowed:
        part = snapshot_of(_window(budget, snapshot), snapshot.meta)
    elif budget.stage:
        delta = snapshot.stages.get(budget.stage) or Delta()
        part = snapshot_of(delta, snapshot.meta)
    if budget.labels:
        part = _matching(part, budget.labels)
    return part


def labels_matcher(labels: tuple[tuple[str, str], ...]) -> Callable[[Mapping[str, str]], bool]:
    """Whether a series' label values match every (key, matcher) of a budget (none: never)."""
    matchers = [(key, parse_matcher(text)) for key, text in labels]
    return lambda values: bool(values) and all(k in values and match(values[k]) for k, match in matchers)


def names_series(budget: Budget, name: str) -> bool:
    """Whether `budget` judges the labeled series `name` (`m{turn:5}` for `m` with `turn: ">=5"`)."""
    metric, values = split(name)
    return bool(budget.labels) and metric == budget.metric and labels_matcher(budget.labels)(values)


def _window(budget: Budget, snapshot: Snapshot) -> Delta:
    """The merged slots of `budget`'s window (and stage, when it names one)."""
    window = Delta()
    for (stage, slot), delta in snapshot.slots.items():
        in_stage = not budget.stage or stage == budget.stage
        if in_stage and slot >= budget.after and (budget.before is None or slot < budget.before):
            window.merge(delta)
    return window


def recording_plan(budget_file: BudgetFile) -> RecordingPlan:
    """What every process must record for these budgets: their window boundaries, their optional labels."""
    bounds = {b.after for b in budget_file.budgets if b.after > 0}
    bounds |= {b.before for b in budget_file.budgets if b.before is not None}
    named = {key for budget in budget_file.budgets for key, _ in budget.labels}
    return RecordingPlan(windows=tuple(sorted(bounds)), labels=frozenset(named & SAMPLE_LABELS))


def _matching(snapshot: Snapshot, labels: tuple[tuple[str, str], ...]) -> Snapshot:
    """The labeled series whose labels match every (key, matcher), merged under their metric."""
    matches = labels_matcher(labels)

    def selected(name: str) -> str | None:
        metric, values = split(name)
        return metric if matches(values) else None

    histograms: dict[str, Histogram] = {}
    for name, histogram in snapshot.histograms.items():
        metric = selected(name)
        if metric is not None:
            histograms.setdefault(metric, Histogram()).merge(histogram)
    counters: dict[str, int] = {}
    for name, n in snapshot.counters.items():
        metric = selected(name)
        if metric is not None:
            counters[metric] = counters.get(metric, 0) + n
    return Snapshot(histograms=histograms, counters=counters, errors={}, meta=snapshot.meta)


def label_values(text: str, allowed: Mapping[str, frozenset[str]], key: str) -> list[str]:
    """The declared values of label `key` that `text` matches (the loader refuses an empty list)."""
    match = parse_matcher(text)
    return sorted((value for value in allowed.get(key, ()) if match(value)), key=_natural)


def _natural(value: str) -> tuple[int, float | str]:
    try:
        return (0, float(value))
    except ValueError:
        return (1, value)
