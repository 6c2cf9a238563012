"""The verdict: statuses, policy switches, sample minimums, confidence intervals and baseline regressions.

Snapshots are built from real Histograms. Values below 2.048 (ms) are stored exactly, and a
histogram whose samples are all equal returns that exact value at every rank, so boundaries can be
tested exactly.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from agentload.budgets import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    WARN,
    Budget,
    BudgetFile,
    Policy,
    compare_to_baseline,
    evaluate,
    load_budgets,
)
from agentload.budgets.confidence import (
    min_samples_for_upper_bound,
    percentile_ci,
    quantile_ci_ranks,
    wilson_interval,
)
from agentload.budgets.evaluate import default_min_samples
from agentload.budgets.scope import in_scope
from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Snapshot

LATENCY = "intent_inference_latency"
SHIPPED = Path(__file__).resolve().parents[2] / "budgets.yaml"


def histogram(*values: float, times: int = 1) -> Histogram:
    result = Histogram()
    for _ in range(times):
        for value in values:
            result.record(value)
    return result


def snapshot(
    histograms: dict[str, Histogram] | None = None,
    counters: dict[str, int] | None = None,
    incomplete: tuple[str, ...] = (),
) -> Snapshot:
    return Snapshot(histograms=histograms or {}, counters=counters or {}, errors={}, incomplete=incomplete)


def budgets(*items: Budget, **policy: Any) -> BudgetFile:
    return BudgetFile(budgets=items, policy=Policy(**policy))


def p95(threshold: float = 800.0, **fields: Any) -> Budget:
    return Budget(LATENCY, "p95", threshold, **fields)


def one(budget: Budget, snap: Snapshot, **policy: Any):
    """The verdict of a single budget, with the 5xx rule off so that only this budget shows."""
    policy.setdefault("fail_on_5xx", False)
    return evaluate(budgets(budget, **policy), snap)


# -- statuses -------------------------------------------------------------------------------------


def test_pass() -> None:
    """A P95 well below its threshold with enough samples passes, exit 0."""
    verdict = one(p95(), snapshot({LATENCY: histogram(100.0, times=100)}))
    assert (verdict.status, verdict.exit_code) == (PASS, 0)
    result = verdict.results[0]
    assert (result.status, result.observed, result.samples, result.marginal) == (PASS, 100.0, 100, False)
    assert result.message == "p95 100 ms, budget < 800 ms"


def test_fail() -> None:
    """A P95 above its threshold fails, exit 1."""
    verdict = one(p95(), snapshot({LATENCY: histogram(900.0, times=100)}))
    assert (verdict.status, verdict.exit_code, verdict.results[0].status) == (FAIL, 1, FAIL)


def test_exactly_at_threshold_fails() -> None:
    """k6 semantics: `p95 < 800` needs the P95 strictly below 800, so exactly 800 fails."""
    verdict = one(p95(1.0), snapshot({LATENCY: histogram(1.0, times=100)}))
    assert verdict.results[0].status == FAIL


def test_warn_margin_exact_boundary() -> None:
    """WARN starts exactly at threshold * (1 - warn_margin); just below it is PASS."""
    budget = p95(1.0, warn_margin=0.25)
    at = one(budget, snapshot({LATENCY: histogram(0.75, times=100)}))
    below = one(budget, snapshot({LATENCY: histogram(0.749, times=100)}))
    assert (at.status, at.exit_code) == (WARN, 0)
    assert at.results[0].message == "p95 0.75 ms, budget < 1 ms (within 25% of the threshold)"
    assert below.status == PASS


def test_zero_warn_margin_never_warns() -> None:
    """With warn_margin 0 a passing value is PASS however close to the threshold."""
    assert one(p95(1.0, warn_margin=0.0), snapshot({LATENCY: histogram(0.999, times=100)})).status == PASS


def test_greater_than_comparison() -> None:
    """A ">" budget passes above the threshold, warns within the margin above it, fails at or below it."""
    budget = Budget("chat_tokens_per_second", "p50", 20.0, warn_margin=0.25, comparison=">")

    def status(value: float) -> str:
        return one(budget, snapshot({"chat_tokens_per_second": histogram(value, times=10)})).status

    assert [status(v) for v in (19.0, 20.0, 25.0, 25.5)] == [FAIL, FAIL, WARN, PASS]


def test_count_is_an_at_most_limit() -> None:
    """A count budget fails only above its threshold and warns from threshold * (1 - margin)."""
    budget = Budget("dropped_iterations", "count", 5.0, warn_margin=0.2)

    def status(count: int) -> str:
        return one(budget, snapshot(counters={"dropped_iterations": count})).status

    assert [status(n) for n in (3, 4, 5, 6)] == [PASS, WARN, WARN, FAIL]


def test_count_zero_threshold() -> None:
    """`threshold: 0` on a count means no occurrence allowed: 0 passes (never warns), 1 fails."""
    budget = Budget("http_5xx", "count", 0.0)
    assert one(budget, snapshot(counters={"http_5xx": 0})).status == PASS
    verdict = one(budget, snapshot(counters={"http_5xx": 1}))
    assert (verdict.status, verdict.results[0].message) == (FAIL, "count 1, budget <= 0")


def test_avg_min_max_med() -> None:
    """avg, min, max and med read the mean, the exact extremes and the P50 of the histogram."""
    values = [0.5, 1.0, 1.5, 2.0] * 10
    snap = snapshot({LATENCY: histogram(*values)})
    observed = {
        stat: one(Budget(LATENCY, stat, 100.0), snap).results[0].observed
        for stat in ("avg", "min", "max", "med")
    }
    assert observed == {"avg": 1.25, "min": 0.5, "max": 2.0, "med": 1.0}


# -- rates and counters ---------------------------------------------------------------------------


def test_error_rate_counts_shed_by_policy() -> None:
    """error_rate adds shed requests to errors only while policy.shed_counts_as_error is on."""
    counters = {"requests": 1000, "errors": 5, "shed": 10}
    budget = Budget("error_rate", "rate", 0.01)
    with_shed = one(budget, snapshot(counters=counters))
    without = one(budget, snapshot(counters=counters), shed_counts_as_error=False)
    assert (with_shed.status, with_shed.results[0].observed) == (FAIL, 0.015)
    assert (without.status, without.results[0].observed) == (PASS, 0.005)
    assert with_shed.results[0].message.startswith("rate 1.5%, budget < 1%")


def test_shed_rate() -> None:
    """shed_rate is shed / requests."""
    verdict = one(Budget("shed_rate", "rate", 0.05), snapshot(counters={"requests": 1000, "shed": 20}))
    assert (verdict.status, verdict.results[0].observed) == (PASS, 0.02)


# -- sample minimums and missing data -------------------------------------------------------------


def test_explicit_min_samples_is_inconclusive() -> None:
    """Fewer samples than an explicit min_samples is INCONCLUSIVE, which fails by default (exit 1)."""
    verdict = one(p95(min_samples=500), snapshot({LATENCY: histogram(100.0, times=100)}))
    assert (verdict.status, verdict.exit_code) == (INCONCLUSIVE, 1)
    assert verdict.results[0].text == "p95 100 ms, budget < 800 ms; only 100 samples, 500 needed"
    assert verdict.results[0].reason == "only 100 samples, 500 needed"
    assert verdict.incomplete == ()


def test_inconclusive_not_failing_by_policy() -> None:
    """With inconclusive_fails false an INCONCLUSIVE budget is reported, weighs as WARN and exits 0."""
    verdict = one(
        p95(min_samples=500), snapshot({LATENCY: histogram(100.0, times=100)}), inconclusive_fails=False
    )
    assert (verdict.status, verdict.exit_code, verdict.results[0].status) == (WARN, 0, INCONCLUSIVE)
    assert verdict.notes == (
        f"{LATENCY} p95: INCONCLUSIVE does not fail the run (policy.inconclusive_fails is false)",
    )


@pytest.mark.parametrize(
    ("budget", "needed"),
    [
        (Budget(LATENCY, "p50", 1.0), 6),
        (Budget(LATENCY, "med", 1.0), 6),
        (Budget(LATENCY, "p90", 1.0), 36),
        (Budget(LATENCY, "p95", 1.0), 72),
        (Budget(LATENCY, "p99", 1.0), 368),
        (Budget(LATENCY, "p95", 1.0, comparison=">"), 2),
        (Budget(LATENCY, "p99", 1.0, comparison=">"), 1),
        (Budget(LATENCY, "avg", 1.0), 30),
        (Budget(LATENCY, "min", 1.0), 1),
        (Budget(LATENCY, "max", 1.0), 1),
        (Budget("error_rate", "rate", 0.01), 300),
        (Budget("error_rate", "rate", 0.005), 600),
        (Budget("error_rate", "rate", 0.03), 100),
        (Budget("http_5xx", "count", 0.0), 0),
    ],
)
def test_default_min_samples(budget: Budget, needed: int) -> None:
    """Default minimums: a CI bound for percentiles, 30 for avg, 1 for extremes, 3/threshold for rates."""
    assert default_min_samples(budget) == needed


def test_default_min_samples_boundary() -> None:
    """A P95 with 71 samples is INCONCLUSIVE and with 72 is decided."""
    assert one(p95(), snapshot({LATENCY: histogram(100.0, times=71)})).status == INCONCLUSIVE
    assert one(p95(), snapshot({LATENCY: histogram(100.0, times=72)})).status == PASS


def test_rate_rule_of_three_boundary() -> None:
    """A 1% error budget needs 300 requests: 299 clean requests are INCONCLUSIVE, 300 PASS."""
    budget = Budget("error_rate", "rate", 0.01)
    assert one(budget, snapshot(counters={"requests": 299})).status == INCONCLUSIVE
    assert one(budget, snapshot(counters={"requests": 300})).status == PASS


def test_no_samples_is_incomplete() -> None:
    """A budgeted metric with no samples is INCONCLUSIVE and makes the run incomplete, exit 3, once."""
    file = budgets(
        p95(), Budget(LATENCY, "p50", 100.0), Budget("error_rate", "rate", 0.01), fail_on_5xx=False
    )
    verdict = evaluate(file, snapshot())
    assert [r.status for r in verdict.results] == [INCONCLUSIVE] * 3
    assert [r.observed for r in verdict.results] == [None] * 3
    assert verdict.results[0].text == "no samples, 72 needed"
    assert verdict.incomplete == (f"no samples for {LATENCY}", "no samples for error_rate")
    assert verdict.exit_code == 3


def test_rate_below_min_samples_fails_when_its_interval_lies_past_the_threshold() -> None:
    """14 failures in 297 requests vs a 1% budget: Wilson 95% CI about 2.8%-7.8%, so FAIL below 300."""
    budget = Budget("error_rate", "rate", 0.01)
    result = one(budget, snapshot(counters={"requests": 297, "errors": 14})).results[0]
    assert result.status == FAIL
    assert result.ci_low is not None and result.ci_high is not None
    assert (round(result.ci_low, 3), round(result.ci_high, 3)) == (0.028, 0.078)
    assert "FAIL on 297 samples (fewer than 300)" in result.text and result.reason == ""


def test_rate_below_min_samples_whose_interval_holds_the_threshold_is_inconclusive() -> None:
    """2 failures in 297 requests vs a 1% budget: the interval contains 1%, so undecided, with why."""
    budget = Budget("error_rate", "rate", 0.01)
    result = one(budget, snapshot(counters={"requests": 297, "errors": 2})).results[0]
    assert (result.status, result.reason) == (INCONCLUSIVE, "only 297 samples, 300 needed")


def test_percentile_below_min_samples_fails_when_its_interval_lies_past_the_threshold() -> None:
    """A P95 from 40 samples of 900 ms (72 needed) against < 800 ms: its lower CI end is 900, FAIL."""
    result = one(p95(), snapshot({LATENCY: histogram(900.0, times=40)})).results[0]
    assert result.status == FAIL and result.ci_low is not None and result.ci_low >= 800
    assert result.explanation is None or result.explanation.metric == LATENCY


def test_percentile_below_min_samples_that_could_still_pass_is_inconclusive() -> None:
    """A P95 from 40 samples of 100 ms against < 800 ms: a PASS needs 72 samples, so undecided."""
    result = one(p95(), snapshot({LATENCY: histogram(100.0, times=40)})).results[0]
    assert (result.status, result.reason) == (INCONCLUSIVE, "only 40 samples, 72 needed")


def test_count_past_its_limit_fails_below_an_explicit_min_samples() -> None:
    """An "at most 0" count with 3 occurrences has failed, however few requests ran."""
    budget = Budget("http_5xx", "count", 0.0, min_samples=1000)
    verdict = one(budget, snapshot(counters={"requests": 10, "http_5xx": 3, "errors": 3}))
    assert (verdict.results[0].status, verdict.exit_code) == (FAIL, 1)


def test_every_request_failed_is_fail_not_incomplete() -> None:
    """100% 500s: the error budget FAILs, the latency budget is INCONCLUSIVE with why, exit 1, complete."""
    file = budgets(p95(), Budget("error_rate", "rate", 0.01))
    verdict = evaluate(file, snapshot(counters={"requests": 400, "errors": 400, "http_5xx": 400}))
    statuses = [r.status for r in verdict.results]
    assert statuses == [INCONCLUSIVE, FAIL, FAIL]  # latency, error_rate, policy.fail_on_5xx
    why = "no successful samples to measure (400 of 400 requests failed), 72 needed"
    assert verdict.results[0].reason == why
    assert (verdict.status, verdict.exit_code, verdict.incomplete) == (FAIL, 1, ())


def test_no_samples_is_incomplete_even_when_inconclusive_does_not_fail() -> None:
    """`no samples` gives exit 3 whatever inconclusive_fails says."""
    verdict = one(p95(), snapshot(), inconclusive_fails=False)
    assert (verdict.status, verdict.exit_code) == (WARN, 3)


# -- the run: incomplete, criticality, 5xx --------------------------------------------------------

HEALTHY = {LATENCY: histogram(100.0, times=100)}


def test_lost_worker_is_incomplete() -> None:
    """A lost worker makes the run incomplete (exit 3 takes precedence over PASS)."""
    verdict = one(p95(), snapshot(HEALTHY, incomplete=("lost worker w1 at t=12s",)))
    assert (verdict.status, verdict.exit_code, verdict.incomplete) == (PASS, 3, ("lost worker w1 at t=12s",))


def test_lost_workers_ignored_by_policy() -> None:
    """With lost_workers_fail false a lost worker becomes a note and the run exits on its budgets."""
    verdict = one(p95(), snapshot(HEALTHY, incomplete=("lost worker w1 at t=12s",)), lost_workers_fail=False)
    assert (verdict.exit_code, verdict.incomplete) == (0, ())
    assert verdict.notes == ("lost worker w1 at t=12s (ignored: policy.lost_workers_fail is false)",)


def test_other_incomplete_reasons_always_exit_3() -> None:
    """Reasons other than lost workers give exit 3 even when lost workers are ignored."""
    verdict = one(p95(), snapshot(HEALTHY, incomplete=("target unreachable",)), lost_workers_fail=False)
    assert (verdict.exit_code, verdict.incomplete) == (3, ("target unreachable",))


def test_incomplete_takes_precedence_over_fail() -> None:
    """A failing, incomplete run exits 3, and its status still says FAIL."""
    verdict = one(p95(), snapshot({LATENCY: histogram(900.0, times=100)}, incomplete=("target unreachable",)))
    assert (verdict.status, verdict.exit_code) == (FAIL, 3)


def test_criticality_outside_fail_on_only_warns() -> None:
    """A FAIL of a budget whose criticality is not in fail_on is reported, weighs as WARN, exits 0."""
    verdict = one(
        p95(criticality="LOW"), snapshot({LATENCY: histogram(900.0, times=100)}), fail_on=("CRITICAL", "HIGH")
    )
    assert (verdict.status, verdict.exit_code, verdict.results[0].status) == (WARN, 0, FAIL)
    assert verdict.notes == (f"{LATENCY} p95: FAIL does not fail the run (LOW is not in policy.fail_on)",)


def test_worst_status_wins() -> None:
    """The run takes the worst counted status: FAIL over INCONCLUSIVE over WARN over PASS."""
    file = budgets(
        p95(),
        Budget(LATENCY, "p50", 110.0, warn_margin=0.5),
        Budget("chat_response_latency", "p95", 1.0),
        fail_on_5xx=False,
    )
    snap = snapshot(
        {LATENCY: histogram(100.0, times=100), "chat_response_latency": histogram(2.0, times=100)}
    )
    assert evaluate(file, snap).status == FAIL


def test_5xx_policy_adds_a_failing_result() -> None:
    """With fail_on_5xx and no http_5xx budget, any 5xx fails the run through a synthetic CRITICAL result."""
    verdict = evaluate(budgets(p95()), snapshot(HEALTHY, {"http_5xx": 3}))
    synthetic = verdict.results[-1]
    assert (synthetic.budget.metric, synthetic.budget.stat, synthetic.budget.threshold) == (
        "http_5xx",
        "count",
        0,
    )
    assert (synthetic.budget.criticality, synthetic.status, synthetic.observed) == ("CRITICAL", FAIL, 3.0)
    assert (verdict.status, verdict.exit_code) == (FAIL, 1)
    assert verdict.notes == ("policy.fail_on_5xx: 3 responses with HTTP 5xx fail the run",)


def test_5xx_policy_passes_without_5xx() -> None:
    """The synthetic 5xx result is present and PASS when no 5xx was seen."""
    verdict = evaluate(budgets(p95()), snapshot(HEALTHY))
    assert [(r.budget.metric, r.status) for r in verdict.results] == [(LATENCY, PASS), ("http_5xx", PASS)]


def test_5xx_policy_fails_even_outside_fail_on() -> None:
    """The 5xx rule is a policy switch: it fails the run even when CRITICAL is not in fail_on."""
    verdict = evaluate(budgets(p95(), fail_on=("LOW",)), snapshot(HEALTHY, {"http_5xx": 1}))
    assert verdict.status == FAIL


def test_5xx_policy_off() -> None:
    """With fail_on_5xx false, 5xx responses alone do not fail the run and no synthetic result appears."""
    verdict = evaluate(budgets(p95(), fail_on_5xx=False), snapshot(HEALTHY, {"http_5xx": 3}))
    assert (verdict.status, len(verdict.results)) == (PASS, 1)


def test_explicit_5xx_budget_replaces_the_rule() -> None:
    """An explicit http_5xx budget governs 5xx: no synthetic result is added."""
    verdict = evaluate(
        budgets(Budget("http_5xx", "count", 5.0, warn_margin=0.0)), snapshot(counters={"http_5xx": 3})
    )
    assert [(r.budget.threshold, r.status) for r in verdict.results] == [(5.0, PASS)]


def test_shipped_budgets_on_a_healthy_run() -> None:
    """The shipped budgets.yaml, in scope for a run without stages or sessions, passes a healthy run."""
    metrics = [
        "intent_inference_latency",
        "step_execution_latency",
        "chat_response_latency",
        "chat_time_to_first_token",
    ]
    snap = snapshot({m: histogram(1.0, 2.0, times=100) for m in metrics}, {"requests": 1000, "errors": 1})
    budgets, skipped = in_scope(load_budgets(SHIPPED), metrics)
    verdict = evaluate(budgets, snap)
    assert (verdict.status, verdict.exit_code, verdict.incomplete) == (PASS, 0, ())
    assert len(skipped) == 5  # two stage budgets, two on the session journey, one on turns


# -- confidence intervals -------------------------------------------------------------------------

# Reference ranks computed with scipy.stats.binom (largest l with F(l-1) <= 2.5%, smallest u with
# F(u-1) >= 97.5%), plus the textbook n=100 median interval (40, 61).
KNOWN_RANKS = [
    (100, 0.5, (40, 61)),
    (100, 0.9, (84, 96)),
    (100, 0.95, (90, 100)),
    (200, 0.99, (195, None)),
    (1000, 0.95, (936, 964)),
    (1000, 0.99, (983, 997)),
    (5000, 0.99, (4936, 4964)),
    (20, 0.5, (6, 15)),
    (10, 0.5, (2, 9)),
    (72, 0.95, (64, 72)),
    (71, 0.95, (63, None)),
    (368, 0.99, (360, 368)),
    (1, 0.5, (None, None)),
]


@pytest.mark.parametrize(("n", "q", "ranks"), KNOWN_RANKS)
def test_quantile_ci_ranks_known_values(n: int, q: float, ranks: tuple[int | None, int | None]) -> None:
    """The order-statistic ranks match the exact binomial reference values."""
    assert quantile_ci_ranks(n, q) == ranks


def _cdf(n: int, q: Fraction, k: int) -> Fraction:
    return sum((math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k + 1)), Fraction(0))


@pytest.mark.parametrize("q", [Fraction(1, 2), Fraction(9, 10), Fraction(19, 20)])
@pytest.mark.parametrize("n", [5, 13, 40, 97])
def test_quantile_ci_ranks_are_exact_and_tight(n: int, q: Fraction) -> None:
    """Against exact rational binomial sums: each side leaves out <= 2.5%, and one rank further would not."""
    low, high = quantile_ci_ranks(n, float(q))
    tail = Fraction(1, 40)
    if low is not None:
        assert _cdf(n, q, low - 1) <= tail < _cdf(n, q, low)
    else:
        assert _cdf(n, q, 0) > tail
    if high is not None:
        assert _cdf(n, q, high - 1) >= 1 - tail > _cdf(n, q, high - 2)
    else:
        assert _cdf(n, q, n - 1) < 1 - tail


def test_normal_approximation_for_huge_n() -> None:
    """Above a million samples the normal approximation stays within one rank of scipy's exact ranks."""
    low, high = quantile_ci_ranks(2_000_001, 0.99)
    assert abs(low - 1979725) <= 1
    assert abs(high - 1980277) <= 1


@pytest.mark.parametrize(("q", "n"), [(0.5, 6), (0.9, 36), (0.95, 72), (0.99, 368)])
def test_upper_bound_appears_at_min_samples(q: float, n: int) -> None:
    """The upper bound exists from exactly the default minimum n = ceil(ln 0.025 / ln q) on."""
    assert min_samples_for_upper_bound(q) == n
    assert quantile_ci_ranks(n - 1, q)[1] is None
    assert quantile_ci_ranks(n, q)[1] is not None


def test_percentile_ci_values_from_histogram() -> None:
    """percentile_ci turns the ranks into sample values: the median of 1..100 lies in [40, 61]."""
    values = histogram(*(i / 1000 for i in range(1, 101)))
    assert percentile_ci(values, 50) == (0.040, 0.061)
    assert percentile_ci(values, 95) == (0.090, 0.100)
    assert percentile_ci(Histogram(), 95) == (None, None)


def test_result_carries_the_ci() -> None:
    """Every percentile result carries its interval; avg carries none."""
    snap = snapshot({LATENCY: histogram(*(i / 1000 for i in range(1, 101)))})
    result = one(Budget(LATENCY, "p50", 1.0), snap).results[0]
    assert (result.observed, result.ci_low, result.ci_high) == (0.050, 0.040, 0.061)
    avg = one(Budget(LATENCY, "avg", 1.0), snap).results[0]
    assert (avg.ci_low, avg.ci_high) == (None, None)


def test_wilson_interval() -> None:
    """The Wilson interval matches textbook values: 0/300 -> [0, 1.26%], 5/100 -> [2.15%, 11.2%]."""
    low, high = wilson_interval(0, 300)
    assert (low, round(high, 5)) == (0.0, 0.01264)
    low, high = wilson_interval(5, 100)
    assert (round(low, 4), round(high, 4)) == (0.0215, 0.1118)
    assert wilson_interval(0, 0) is None


# -- marginal ---------------------------------------------------------------------------------------

SPREAD = {LATENCY: histogram(*(i / 1000 for i in range(1, 101)))}  # p95 0.095, CI [0.090, 0.100]


@pytest.mark.parametrize(
    ("threshold", "status", "marginal"),
    [(0.2, PASS, False), (0.098, PASS, True), (0.1, PASS, True), (0.093, FAIL, True), (0.085, FAIL, False)],
)
def test_marginal_when_ci_straddles_threshold(threshold: float, status: str, marginal: bool) -> None:
    """A result is marginal when its CI contains the threshold; its status follows the point estimate."""
    result = one(p95(threshold, warn_margin=0.0), snapshot(SPREAD)).results[0]
    assert (result.status, result.marginal) == (status, marginal)


def test_marginal_message_and_open_side() -> None:
    """With an explicit low min_samples the CI can be open above, which is marginal."""
    result = one(
        p95(1.0, min_samples=10, warn_margin=0.0), snapshot({LATENCY: histogram(0.5, times=10)})
    ).results[0]
    assert (result.status, result.ci_high, result.marginal) == (PASS, None, True)
    assert (
        result.message == "p95 0.5 ms, budget < 1 ms; marginal: 95% CI 0.5 ms to +inf contains the threshold"
    )


def test_marginal_rate() -> None:
    """Rates are marginal when the Wilson interval contains the threshold."""
    result = one(
        Budget("error_rate", "rate", 0.01), snapshot(counters={"requests": 1000, "errors": 8})
    ).results[0]
    assert (result.status, result.marginal) == (PASS, True)  # 0.8%, Wilson CI about 0.41% to 1.57%


# -- baseline ---------------------------------------------------------------------------------------


def baseline_report(p95_value: float | None, ci: list[float | None] | None, metric: str = LATENCY) -> dict:
    return {"metrics": {metric: {"count": 100, "p95": p95_value, "ci": {"p95": ci}}}}


def test_significant_regression_warns_by_default() -> None:
    """P95 beyond the margin with non-overlapping CIs is significant; by default it only warns."""
    snap = snapshot({LATENCY: histogram(1.5, times=200)})
    verdict = evaluate(budgets(p95()), snap, baseline_report(1.0, [0.9, 1.1]))
    assert verdict.regressions == (verdict.regressions[0],)
    regression = verdict.regressions[0]
    assert (regression.metric, regression.baseline_p95, regression.current_p95) == (LATENCY, 1.0, 1.5)
    assert (regression.change, regression.significant) == (0.5, True)
    assert (verdict.status, verdict.exit_code) == (WARN, 0)
    assert verdict.notes == (
        f"regression: {LATENCY} p95 1.5 ms vs baseline 1 ms (+50.0%, beyond noise); "
        "warning only (policy.regression_fails is false)",
    )


def test_significant_regression_fails_by_policy() -> None:
    """With regression_fails a significant regression fails the run."""
    snap = snapshot({LATENCY: histogram(1.5, times=200)})
    verdict = evaluate(budgets(p95(), regression_fails=True), snap, baseline_report(1.0, [0.9, 1.1]))
    assert (verdict.status, verdict.exit_code) == (FAIL, 1)


def test_regression_within_margin_is_not_significant() -> None:
    """A P95 at most margin above the baseline is not significant, even with disjoint CIs."""
    snap = {LATENCY: histogram(1.1, times=200)}
    (regression,) = compare_to_baseline(snap, baseline_report(1.0, [0.9, 1.0]), 0.10)
    assert regression.significant is False
    (regression,) = compare_to_baseline(snap, baseline_report(1.0, [0.9, 1.0]), 0.05)
    assert regression.significant is True


def test_overlapping_intervals_are_not_significant() -> None:
    """A large P95 rise whose CI overlaps the baseline CI is noise, not a regression."""
    current = {LATENCY: histogram(*([1.2] * 92 + [1.5] * 8))}  # p95 1.5, CI low (rank 90) 1.2
    (regression,) = compare_to_baseline(current, baseline_report(1.0, [0.9, 1.3]), 0.10)
    assert (regression.current_p95, regression.significant) == (1.5, False)
    (regression,) = compare_to_baseline(current, baseline_report(1.0, [0.9, 1.1]), 0.10)
    assert regression.significant is True


def test_missing_baseline_ci_is_never_significant() -> None:
    """Without a baseline CI (null) nothing can be shown beyond noise."""
    snap = {LATENCY: histogram(1.5, times=200)}
    assert compare_to_baseline(snap, baseline_report(1.0, None), 0.1)[0].significant is False
    assert compare_to_baseline(snap, baseline_report(1.0, [0.9, None]), 0.1)[0].significant is False


def test_baseline_only_compares_shared_latency_metrics() -> None:
    """Metrics missing on either side, number metrics and malformed entries are skipped."""
    current = {
        LATENCY: histogram(1.0, times=100),
        "chat_tokens_per_second": histogram(1.0, times=100),
        "chat_response_latency": histogram(1.0, times=100),
    }
    baseline = {
        "metrics": {
            "chat_tokens_per_second": {"p95": 0.5, "ci": {"p95": [0.4, 0.6]}},
            "chat_response_latency": {"p95": "fast"},
            "step_execution_latency": {"p95": 1.0, "ci": {"p95": [0.9, 1.1]}},
        }
    }
    assert compare_to_baseline(current, baseline, 0.1) == ()
    assert compare_to_baseline(current, {"metrics": []}, 0.1) == ()
    assert compare_to_baseline(current, [], 0.1) == ()  # type: ignore[arg-type]


def test_improvement_is_reported_not_significant() -> None:
    """A faster run yields a negative change and no note."""
    verdict = evaluate(
        budgets(p95()), snapshot({LATENCY: histogram(0.5, times=200)}), baseline_report(1.0, [0.9, 1.1])
    )
    assert (verdict.regressions[0].change, verdict.regressions[0].significant) == (-0.5, False)
    assert (verdict.status, verdict.notes) == (PASS, ())
