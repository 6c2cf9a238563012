"""Turn a run's `Snapshot` and the budget file into a `Verdict`: pure, so every rule is testable alone.

Observed values. Duration and number metrics read `snapshot.histograms[metric]`: p50/med, p90, p95
and p99 are nearest-rank percentiles, avg the mean, min and max exact. `error_rate` is
(errors + shed, if policy.shed_counts_as_error) / requests and `shed_rate` is shed / requests, from
`snapshot.counters`, where `requests` counts every request attempted, failed and shed ones included.
Count metrics are the counter itself.

Pass and fail, as in k6 (`p(95)<800` passes when the P95 is below 800): with comparison "<" a
budget PASSES only when observed < threshold and FAILS when observed >= threshold; with ">" it
passes only when observed > threshold. Count budgets are limits ("at most N"): "<" fails only when
observed > threshold, so `threshold: 0` means "no occurrence allowed"; ">" fails when observed < N.
A passing budget is WARN when it is within its warn_margin of the threshold:
observed >= threshold * (1 - warn_margin) for "<", observed <= threshold * (1 + warn_margin) for ">"
(no warn zone when warn_margin is 0 or a count threshold is 0).

Default min_samples. Below min_samples a budget is INCONCLUSIVE, unless its 95% confidence interval
lies wholly on the failing side (then more samples could not make it pass, so it FAILs: the minimum
protects a PASS, not a FAIL). An "at most" count past its limit has failed whatever the sample
count: a count is exact and only grows. Unless the budget sets min_samples, it is the smallest
sample count at which the result can mean anything:
* a percentile p (as a fraction q) needs the 95% confidence interval to be able to exclude the
  threshold at all. For "<" the interval's upper end must exist, which takes 1 - q^n >= 0.975, i.e.
  n >= ln(0.025) / ln(q): p50 and med 6, p90 36, p95 72, p99 368 samples. For ">" the lower end must
  exist, n >= ln(0.025) / ln(1 - q): p50 6, p90 and p95 2, p99 1;
* avg needs 30 samples (the usual rule of thumb for a mean to be roughly normal);
* min and max need 1 sample;
* a rate needs ceil(3 / threshold) requests (the "rule of three": with no event in n requests the
  95% upper bound on the rate is about 3 / n, so a 1% budget needs 300 requests);
* a count needs nothing: zero occurrences is an observation. An explicit min_samples on a count
  budget is compared with the number of requests.
A budget with no samples at all (no histogram, or no requests for a rate) is INCONCLUSIVE. When the
run had failed (or shed, as counted by the policy) requests, they explain the missing samples: a run
whose every request failed FAILs its error budgets and its latency budgets are INCONCLUSIVE ("no
successful samples to measure"). Otherwise the budgeted metric was never measured, the test did not
exercise what it claims to gate, and the run is incomplete ("no samples for <metric>", exit 3).
Every INCONCLUSIVE carries its reason in words (`BudgetResult.reason`), which every reporter prints.

Confidence. Percentiles get a distribution-free 95% interval from order statistics, rates a Wilson
interval (see `confidence`). When that interval contains the threshold (an open side counts as
unbounded) the result is `marginal`: the status still follows the point estimate.

The run. `Verdict.status` is the worst of the budget statuses (PASS < WARN < INCONCLUSIVE < FAIL),
where a FAIL or INCONCLUSIVE of a budget whose criticality is not in policy.fail_on, and any
INCONCLUSIVE when policy.inconclusive_fails is false, count as WARN (reported, never failing).
With policy.fail_on_5xx and no explicit http_5xx budget, a synthetic CRITICAL budget
"http_5xx <= 0" is evaluated and always counts. Significant baseline regressions make the run FAIL
with policy.regression_fails, else WARN. The status is never INCOMPLETE: reasons go to
`Verdict.incomplete` (the snapshot's own, such as lost workers, which policy.lost_workers_fail can
turn into a note, plus "no samples for <metric>", plus one "generator-bound: ..." line when the
load generator's own delay can explain a FAIL, which is then INCONCLUSIVE: see `generator_bound`).
Exit code: 3 when incomplete, else 1 when the status is FAIL or INCONCLUSIVE, else 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentload.recording.histogram import Histogram
from agentload.recording.metrics import COUNT, DURATION, RATE, rate_counters
from agentload.recording.recorder import Snapshot

from .baseline import compare_to_baseline
from .confidence import (
    min_samples_for_lower_bound,
    min_samples_for_upper_bound,
    percentile_ci,
    wilson_interval,
)
from .explain import explain_budget
from .generator_bound import judge_generator
from .model import (
    EXIT_FAIL,
    EXIT_INCOMPLETE,
    EXIT_PASS,
    FAIL,
    INCONCLUSIVE,
    PASS,
    STATUS_ORDER,
    WARN,
    Budget,
    BudgetFile,
    BudgetResult,
    Policy,
    Regression,
    Verdict,
)
from .part import part_of_run

PERCENTILES = {"p50": 50, "med": 50, "p90": 90, "p95": 95, "p99": 99}
AVG_MIN_SAMPLES = 30
FIVE_XX_BUDGET = Budget(
    metric="http_5xx",
    stat="count",
    threshold=0.0,
    criticality="CRITICAL",
    warn_margin=0.0,
    name="http_5xx (policy.fail_on_5xx)",
)
"""The budget policy.fail_on_5xx stands for when the file has no http_5xx budget of its own."""


@dataclass(frozen=True)
class Observation:
    """What the snapshot says about one budget's statistic, before it is judged."""

    value: float | None
    samples: int
    ci: tuple[float | None, float | None] | None = None


def evaluate(
    budget_file: BudgetFile, snapshot: Snapshot, baseline: Mapping[str, Any] | None = None
) -> Verdict:
    """The verdict of `snapshot` against `budget_file`, optionally compared with a baseline report."""
    policy = budget_file.policy
    results = [evaluate_budget(budget, snapshot, policy) for budget in budget_file.budgets]
    results, generator_bound = judge_generator(results, snapshot)
    weights = [(_counted_status(result, policy), _ignored_note(result, policy)) for result in results]
    if policy.fail_on_5xx and not any(b.metric == FIVE_XX_BUDGET.metric for b in budget_file.budgets):
        five_xx = evaluate_budget(FIVE_XX_BUDGET, snapshot, policy)
        results.append(five_xx)
        weights.append((five_xx.status, _five_xx_note(five_xx)))
    regressions: tuple[Regression, ...] = ()
    if baseline is not None:
        regressions = compare_to_baseline(snapshot.histograms, baseline, policy.regression_margin)
    weights += [_regression_weight(r, policy) for r in regressions if r.significant]
    incomplete, incomplete_notes = _incomplete(snapshot, results, policy)
    incomplete = (*incomplete, *generator_bound)
    status = max((weight for weight, _ in weights), key=STATUS_ORDER.index, default=PASS)
    return Verdict(
        status=status,
        exit_code=_exit_code(status, incomplete),
        results=tuple(results),
        incomplete=incomplete,
        regressions=regressions,
        notes=(*(note for _, note in weights if note), *incomplete_notes),
    )


def evaluate_budget(budget: Budget, snapshot: Snapshot, policy: Policy) -> BudgetResult:
    """The result of one budget: observed value, status, confidence interval and marginal flag."""
    snapshot = part_of_run(budget, snapshot)
    observation = observe(budget, snapshot, policy)
    needed = budget.min_samples if budget.min_samples is not None else default_min_samples(budget)
    low, high = observation.ci or (None, None)
    status, marginal, reason, note = _decide(budget, observation, needed, snapshot, policy)
    explanation = None
    if status == FAIL and budget.kind == DURATION:
        explanation = explain_budget(budget, snapshot, PERCENTILES.get(budget.stat))
    return BudgetResult(
        budget=budget,
        status=status,
        observed=observation.value,
        samples=observation.samples,
        ci_low=low,
        ci_high=high,
        marginal=marginal,
        message=_message(budget, observation, status, marginal) + note,
        explanation=explanation,
        reason=reason,
    )


def _decide(
    budget: Budget, observation: Observation, needed: int, snapshot: Snapshot, policy: Policy
) -> tuple[str, bool, str, str]:
    """(status, marginal, reason it is undecided, note on a FAIL decided early).

    Below `needed` samples only a FAIL can be decided: the minimum protects a PASS, so a budget
    whose 95% interval lies wholly on the failing side FAILs however few samples it has.
    """
    if observation.value is None:
        return INCONCLUSIVE, False, _no_samples_reason(budget, needed, snapshot, policy), ""
    if observation.samples >= needed:
        low, high = observation.ci or (None, None)
        marginal = observation.ci is not None and _straddles(budget.threshold, low, high)
        return _judge(budget, observation.value), marginal, "", ""
    if _wholly_failing(budget, observation):
        note = f"; FAIL on {observation.samples} samples (fewer than {needed}): its 95% CI is past the limit"
        return FAIL, False, "", note
    return INCONCLUSIVE, False, f"only {observation.samples} samples, {needed} needed", ""


def _wholly_failing(budget: Budget, observation: Observation) -> bool:
    """True when more samples could not turn this budget into a PASS at 95% confidence.

    A count is exact and only grows, so an "at most" count already past its limit has failed.
    """
    if budget.kind == COUNT:
        return budget.comparison == "<" and _judge(budget, observation.value or 0.0) == FAIL
    low, high = observation.ci or (None, None)
    if budget.comparison == "<":
        return low is not None and low >= budget.threshold
    return high is not None and high <= budget.threshold


def _no_samples_reason(budget: Budget, needed: int, snapshot: Snapshot, policy: Policy) -> str:
    """Why a budget has nothing to judge: failed requests leave a latency budget nothing to measure."""
    failed = snapshot.failed(policy.shed_counts_as_error)
    requests = snapshot.counter("requests")
    if failed and budget.kind != RATE:
        return (
            f"no successful samples to measure ({failed} of {requests} requests failed), "
            f"{max(needed, 1)} needed"
        )
    where = budget.part if budget.windowed else ""  # a window past the run's end has none
    return f"no samples{where}, {max(needed, 1)} needed"


def default_min_samples(budget: Budget) -> int:
    """The fewest samples at which `budget` can be decided; the rules are in the module docstring."""
    if budget.stat in PERCENTILES:
        q = PERCENTILES[budget.stat] / 100
        return min_samples_for_upper_bound(q) if budget.comparison == "<" else min_samples_for_lower_bound(q)
    if budget.stat == "avg":
        return AVG_MIN_SAMPLES
    if budget.stat in ("min", "max"):
        return 1
    if budget.kind == RATE and budget.threshold > 0:
        return max(1, math.ceil(3 / budget.threshold - 1e-9))
    return 0


def observe(budget: Budget, snapshot: Snapshot, policy: Policy) -> Observation:
    """The observed value of `budget`'s statistic in `snapshot`, with its sample count and CI."""
    kind = budget.kind
    if kind == COUNT:
        return Observation(float(snapshot.counter(budget.metric)), snapshot.counter("requests"))
    if kind == RATE:
        return _observe_rate(budget.metric, snapshot, policy)
    return _observe_trend(budget.stat, snapshot.histograms.get(budget.metric))


def _observe_trend(stat: str, histogram: Histogram | None) -> Observation:
    if histogram is None or histogram.count < 1:
        return Observation(None, 0)
    if stat in PERCENTILES:
        percent = PERCENTILES[stat]
        return Observation(histogram.percentile(percent), histogram.count, percentile_ci(histogram, percent))
    value = {"avg": histogram.mean, "min": histogram.min, "max": histogram.max}[stat]
    return Observation(value, histogram.count)


def _observe_rate(metric: str, snapshot: Snapshot, policy: Policy) -> Observation:
    requests = snapshot.counter("requests")
    if metric == "error_rate":
        events = snapshot.failed(policy.shed_counts_as_error)
    elif metric == "shed_rate":
        events = snapshot.counter("shed")
    else:  # a declared Rate: its own true and total counters
        hits, total = rate_counters(metric)
        events, requests = snapshot.counter(hits), snapshot.counter(total)
    if requests < 1:
        return Observation(None, 0)
    return Observation(events / requests, requests, wilson_interval(min(events, requests), requests))


def _judge(budget: Budget, value: float) -> str:
    threshold, margin = budget.threshold, budget.warn_margin
    limit = budget.kind == COUNT  # "at most" / "at least" rather than strict
    if budget.comparison == "<":
        failed = value > threshold if limit else value >= threshold
        near = value >= threshold * (1 - margin)
    else:
        failed = value < threshold if limit else value <= threshold
        near = value <= threshold * (1 + margin)
    if failed:
        return FAIL
    no_warn_zone = margin <= 0 or (limit and threshold == 0)
    return WARN if near and not no_warn_zone else PASS


def _straddles(threshold: float, low: float | None, high: float | None) -> bool:
    """True when [low, high] contains the threshold; a missing end is unbounded."""
    return (low is None or low <= threshold) and (high is None or high >= threshold)


def _counted_status(result: BudgetResult, policy: Policy) -> str:
    """How a result weighs on the run: failures the policy does not fail on weigh as WARN."""
    if result.status == INCONCLUSIVE and not policy.inconclusive_fails:
        return WARN
    if result.status in (FAIL, INCONCLUSIVE) and result.budget.criticality not in policy.fail_on:
        return WARN
    return result.status


def _ignored_note(result: BudgetResult, policy: Policy) -> str:
    """A note for a FAIL or INCONCLUSIVE that the policy reports without failing the run."""
    if result.status not in (FAIL, INCONCLUSIVE):
        return ""
    if result.budget.criticality not in policy.fail_on:
        why = f"{result.budget.criticality} is not in policy.fail_on"
        return f"{result.budget.label}: {result.status} does not fail the run ({why})"
    if result.status == INCONCLUSIVE and not policy.inconclusive_fails:
        return (
            f"{result.budget.label}: INCONCLUSIVE does not fail the run (policy.inconclusive_fails is false)"
        )
    return ""


def _five_xx_note(result: BudgetResult) -> str:
    if result.status != FAIL:
        return ""
    return f"policy.fail_on_5xx: {result.observed:.0f} responses with HTTP 5xx fail the run"


def _regression_weight(regression: Regression, policy: Policy) -> tuple[str, str]:
    """(status, note) of a significant regression: FAIL with policy.regression_fails, else WARN."""
    effect = "fails the run" if policy.regression_fails else "warning only (policy.regression_fails is false)"
    note = (
        f"regression: {regression.metric} p95 {regression.current_p95:.6g} ms vs baseline "
        f"{regression.baseline_p95:.6g} ms ({regression.change:+.1%}, beyond noise); {effect}"
    )
    return (FAIL if policy.regression_fails else WARN), note


def _incomplete(
    snapshot: Snapshot, results: list[BudgetResult], policy: Policy
) -> tuple[tuple[str, ...], list[str]]:
    """(reasons the run is incomplete, notes about reasons the policy ignores)."""
    reasons: list[str] = []
    notes: list[str] = []
    for reason in snapshot.incomplete:
        if reason.lower().startswith("lost worker") and not policy.lost_workers_fail:
            notes.append(f"{reason} (ignored: policy.lost_workers_fail is false)")
        elif reason not in reasons:
            reasons.append(reason)
    if snapshot.failed(policy.shed_counts_as_error):
        return tuple(reasons), notes  # failed requests explain the missing samples: a decided run
    for result in results:
        reason = f"no samples for {result.budget.metric}"
        if result.observed is None and reason not in reasons:
            reasons.append(reason)
    return tuple(reasons), notes


def _exit_code(status: str, incomplete: tuple[str, ...]) -> int:
    if incomplete:
        return EXIT_INCOMPLETE
    return EXIT_FAIL if status in (FAIL, INCONCLUSIVE) else EXIT_PASS


def _message(budget: Budget, observation: Observation, status: str, marginal: bool) -> str:
    """One human line: `p95 812 ms, budget < 800 ms`, plus why it is WARN or marginal."""
    if observation.value is None:
        return ""  # the reason says it
    operator = budget.comparison
    if budget.kind == COUNT:
        operator = {"<": "<=", ">": ">="}[operator]
    value, threshold = _format(budget, observation.value), _format(budget, budget.threshold)
    text = f"{budget.stat} {value}, budget {operator} {threshold}"
    if status == WARN:
        text += f" (within {budget.warn_margin * 100:g}% of the threshold)"
    if marginal:
        low, high = observation.ci or (None, None)
        low_text = _format(budget, low) if low is not None else "-inf"
        high_text = _format(budget, high) if high is not None else "+inf"
        text += f"; marginal: 95% CI {low_text} to {high_text} contains the threshold"
    return text


def _format(budget: Budget, value: float) -> str:
    kind = budget.kind
    if kind == RATE:
        return f"{value * 100:.4g}%"
    if kind == COUNT:
        return f"{value:.0f}"
    return f"{value:.6g} ms" if kind == DURATION else f"{value:.6g}"
