"""The generator's health: per-process recording and merge, and the rule that keeps its delay out of FAILs.

Recorders here are real `Recorder`s drained into a real `Aggregate`, as workers and the master do;
verdicts come from the real `evaluate`.
"""

from __future__ import annotations

from agentload.budgets import FAIL, INCONCLUSIVE, PASS, Budget, BudgetFile, evaluate
from agentload.budgets.generator_bound import DELAY_FACTOR, DROPPED_BY_GENERATOR
from agentload.recording import generator
from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Aggregate, Recorder, Snapshot

TTFT = "chat_time_to_first_token"
BUDGET = Budget(metric=TTFT, stat="p95", threshold=1100.0, min_samples=1)


def probed(source: str, lag_ms: float, *cpus: float, stage: str = "") -> Recorder:
    """A recorder that has measured `lag_ms` of loop lag 100 times and each of `cpus` percent once."""
    recorder = Recorder(source=source)
    recorder.stage = stage
    for _ in range(100):
        generator.record(recorder, generator.LOOP_LAG, lag_ms)
    for cpu in cpus:
        generator.record(recorder, generator.CPU, cpu)
    return recorder


def run(ttft_ms: float, *recorders: Recorder, counters: dict[str, int] | None = None) -> Snapshot:
    """The merged snapshot of `recorders` plus 100 TTFTs from one more process: 95 of `ttft_ms` (so
    the P95 is `ttft_ms`) and 5 of 900 ms (the platform's own, undelayed time)."""
    aggregate = Aggregate()
    latency = Recorder()
    for value in (900.0,) * 5 + (ttft_ms,) * 95:
        latency.observe(TTFT, value)
    for name, n in (counters or {}).items():
        latency.count(name, n)
    for recorder in (*recorders, latency):
        aggregate.merge_wire(recorder.drain())
    return aggregate.snapshot()


def verdict(snapshot: Snapshot, *budgets: Budget):
    return evaluate(BudgetFile(budgets=budgets or (BUDGET,)), snapshot)


def test_per_source_lag_merges_across_workers_and_names_the_worst() -> None:
    """Each worker's lag arrives as its own labeled series; the merge keeps them apart and exact."""
    snapshot = run(1000.0, probed("w1", 2.0, 30.0, stage="ramp"), probed("w2", 40.0, 97.0, stage="ramp"))
    processes = generator.per_process(snapshot.histograms)
    assert [p.source for p in processes] == ["w2", "w1"]
    assert processes[0].lag_p99 == snapshot.histograms["generator_loop_lag{source:w2}"].percentile(99)
    assert processes[0].cpu_max == 97.0
    assert snapshot.histograms[generator.LOOP_LAG].count == 200  # the whole metric, beside the series
    assert snapshot.stages["ramp"].histograms["generator_loop_lag{source:w1}"].count == 100
    line = generator.health_line(snapshot.histograms)
    assert line.startswith("generator: w2: loop lag p99 40 ms, CPU max 97%; w1: loop lag p99 2 ms")


def test_same_worker_merges_its_drains_exactly() -> None:
    """Two drains of one worker add up in its series, bucket for bucket."""
    aggregate = Aggregate()
    first, second = probed("w1", 3.0, 10.0), probed("w1", 5.0, 80.0)
    aggregate.merge_wire(first.drain())
    aggregate.merge_wire(second.drain())
    expected = Histogram()
    for value in (3.0,) * 100 + (5.0,) * 100:
        expected.record(value)
    (process,) = generator.per_process(aggregate.snapshot().histograms)
    assert process.lag == expected and process.cpu_max == 80.0


def test_missed_wakes_weigh_a_stall_by_its_time() -> None:
    """A 100 ms stall of a 20 ms probe counts the wakes it skipped: 100, 80, 60, 40, 20 ms."""
    assert generator.missed_wakes(100.0, 20.0) == [100.0, 80.0, 60.0, 40.0, 20.0]
    assert generator.missed_wakes(5.0, 20.0) == [5.0]
    assert generator.missed_wakes(-1.0, 20.0) == [0.0]


def test_pass_stays_pass_whatever_the_lag() -> None:
    """Generator delay only adds to latency: a PASS under a saturated generator is still a PASS."""
    result = verdict(run(900.0, probed("local", 500.0, 100.0))).results[0]
    assert result.status == PASS and not result.generator_bound


def test_fail_stands_when_the_lag_cannot_explain_it() -> None:
    """1.5 s against 1.1 s with a 2 ms loop lag: 1500 - 10 x 2 is still over, so FAIL, exit 1."""
    result_verdict = verdict(run(1500.0, probed("local", 2.0, 20.0)))
    assert result_verdict.results[0].status == FAIL
    assert result_verdict.exit_code == 1 and not result_verdict.incomplete


def test_fail_becomes_inconclusive_generator_bound_when_the_lag_can_explain_it() -> None:
    """3 s against 1.1 s with a 500 ms loop lag: INCONCLUSIVE, generator-bound, exit 3, one line."""
    result_verdict = verdict(run(3000.0, probed("w1", 1.0, 20.0), probed("w2", 500.0, 99.0)))
    result = result_verdict.results[0]
    assert result.status == INCONCLUSIVE and result.generator_bound
    assert "generator-bound" in result.text
    assert result_verdict.exit_code == 3
    (line,) = result_verdict.incomplete
    assert line.startswith("generator-bound:") and "w2: loop lag p99 500 ms, CPU max 99%" in line
    assert "--processes 4" in line


def test_the_rule_is_observed_minus_factor_times_lag_against_the_threshold() -> None:
    """At the boundary: exactly the threshold after the delay is taken off still fails (k6's "<")."""
    snapshot = run(1600.0, probed("local", 40.0, 90.0))
    p95 = snapshot.histograms[TTFT].percentile(95)
    lag_p99 = snapshot.histograms["generator_loop_lag{source:local}"].percentile(99)
    boundary = p95 - DELAY_FACTOR * lag_p99
    assert 1000 < boundary < p95  # the TTFT's fastest samples (900 ms) are under it
    at = Budget(metric=TTFT, stat="p95", threshold=boundary, min_samples=1)
    over = Budget(metric=TTFT, stat="p95", threshold=boundary + 0.01, min_samples=1)
    assert verdict(snapshot, at).results[0].status == FAIL
    assert verdict(snapshot, over).results[0].status == INCONCLUSIVE


def test_a_saturated_loop_bounds_nothing() -> None:
    """Lag P99 at 150 ms (saturated): 3 s against 1.1 s is not judged, though 3000 - 4 x 150 > 1100."""
    result = verdict(run(3000.0, probed("local", 150.0, 99.0))).results[0]
    assert result.status == INCONCLUSIVE and "saturated (loop lag p99 150" in result.text
    healthy = verdict(run(3000.0, probed("local", 99.0, 60.0))).results[0]
    assert healthy.status == FAIL  # 99 ms is under the limit: 3000 - 4 x 99 is still over 1100


def test_a_core_busy_most_of_the_run_is_saturated_whatever_its_lag() -> None:
    """CPU median at 95% of one core: 1.4 s against 1.1 s with a 73 ms lag is not judged, though
    1400 - 4 x 73 > 1100 (measured: 4,000 streams of 50 ms tokens, P95 400 ms late at that lag)."""
    busy = probed("local", 73.0, 40.0, 95.0, 100.0)  # the median second of the run, not its busiest
    result_verdict = verdict(run(1400.0, busy))
    result = result_verdict.results[0]
    assert result.status == INCONCLUSIVE and "saturated (CPU median 95% of one core)" in result.text
    assert result_verdict.exit_code == 3 and "local: loop lag p99 73" in result_verdict.incomplete[0]
    mostly_idle = verdict(run(1400.0, probed("local", 73.0, 94.0))).results[0]
    assert mostly_idle.status == FAIL


def test_fail_stands_when_even_the_fastest_sample_failed() -> None:
    """A 20 ms latency against a 1 ms budget fails whatever the lag: delay only adds to each sample."""
    budget = Budget(metric=TTFT, stat="p95", threshold=1.0, min_samples=1)
    assert verdict(run(20.0, probed("local", 50.0, 90.0)), budget).results[0].status == FAIL


def test_without_a_probe_a_fail_stands() -> None:
    """No generator health measured (probe off): nothing can be blamed on it, the FAIL stands."""
    assert verdict(run(3000.0)).results[0].status == FAIL


def test_scheduled_latency_also_discounts_the_schedule_lag() -> None:
    """`<metric>_scheduled` waits for its late start too: the schedule lag P99 comes off as well."""
    aggregate = Aggregate()
    recorder = probed("local", 1.0, 50.0)
    for value in (900.0,) * 5 + (1600.0,) * 95:
        recorder.observe("chat_response_latency_scheduled", value)
        recorder.observe("iteration_schedule_lag", 600.0)
    aggregate.merge_wire(recorder.drain())
    budget = Budget(metric="chat_response_latency_scheduled", stat="p95", threshold=1100.0, min_samples=1)
    result = verdict(aggregate.snapshot(), budget).results[0]
    assert result.status == INCONCLUSIVE and result.generator_bound


def test_dropped_iterations_fail_only_on_the_platforms_drops() -> None:
    """Drops the generator caused (never reached) do not fail a drop budget; max_concurrency drops do."""
    budget = Budget(metric="dropped_iterations", stat="count", threshold=5.0)
    by_generator = run(1000.0, counters={"dropped_iterations": 40, DROPPED_BY_GENERATOR: 38})
    result = verdict(by_generator, budget).results[0]
    assert result.status == INCONCLUSIVE and "38 of the drops" in result.text
    by_platform = run(1000.0, counters={"dropped_iterations": 40, DROPPED_BY_GENERATOR: 10})
    assert verdict(by_platform, budget).results[0].status == FAIL


def test_budgets_on_the_generator_itself_are_judged_as_written() -> None:
    """A budget on generator_loop_lag fails on its own lag; it is not discounted by itself."""
    budget = Budget(metric=generator.LOOP_LAG, stat="p99", threshold=50.0, min_samples=1)
    result = verdict(run(1000.0, probed("local", 500.0, 99.0)), budget).results[0]
    assert result.status == FAIL
