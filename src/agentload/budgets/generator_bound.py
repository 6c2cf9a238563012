"""Which failures are the generator's: a FAIL stands only if the generator's own delay cannot explain it.

A load generator that runs out of CPU runs every greenlet late, and the latencies it measures grow
by that delay: it can turn a PASS into a FAIL, never a FAIL into a PASS. So a PASS stays, and a
latency FAIL stands only when it still fails with the generator's possible delay taken off:

    the fastest sample of the metric is itself at or over the threshold (delay only adds, so
    every request failed), or
    no process is saturated, and observed - DELAY_FACTOR * (the worst loop lag P99) >= threshold.

The factor: one request resumes on the loop several times (connect, send, response headers,
first chunk), and each resume can be late by the loop lag, so 4 lags bound it while the loop keeps
up (a lag P99 of 2 ms takes 8 ms off; 10 was tried first and turned a FAIL by 160 ms into
INCONCLUSIVE on a busy CI machine whose lag P99 was 21 ms at 7% CPU). A process is saturated when
its loop lag P99 reaches `SATURATED_LAG_MS` or its CPU median reaches `SATURATED_CPU_PERCENT` of
one core: work queues up in it without bound, and its latencies bound nothing (measured on one core
against nginx with a 1.0 s first token, README "When the generator is the bottleneck": a saturated
core added from 1.6 to 8 times its lag P99 to the P95 time to first token, from run to run, and
more once streams hit their timeout; 4,000 streams of 50 ms tokens ran at a CPU median of 100%
with a lag P99 of only 73 ms and a P95 400 ms late, 5.5 lags), so no latency FAIL of its run
stands unless every sample failed.

The open model adds its own evidence. `<metric>_scheduled` also waits for its iteration's late
start (`iteration_schedule_lag`), which is the generator's alone (the executor drops, never
queues), so that lag's P99 comes off too. `dropped_iterations` counts
iterations dropped at `max_concurrency` (the platform's) and those a busy generator never reached
(`dropped_iterations{cause:generator}`); a drop budget fails on the platform's drops alone.

Anything the rule takes from FAIL becomes INCONCLUSIVE and generator-bound, and the run is
incomplete (exit 3) with one line naming the worst process, its lag and CPU, and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from agentload.recording import generator
from agentload.recording.labels import labeled
from agentload.recording.metrics import DURATION, SCHEDULED_SUFFIX
from agentload.recording.recorder import Snapshot

from .model import FAIL, INCONCLUSIVE, BudgetResult

DELAY_FACTOR = 4.0
SATURATED_LAG_MS = 100.0
SATURATED_CPU_PERCENT = 95.0
LAG_PERCENTILE = 99
SCHEDULE_LAG = "iteration_schedule_lag"
DROPPED = "dropped_iterations"
DROPPED_BY_GENERATOR = labeled(DROPPED, {"cause": "generator"})


def judge_generator(
    results: Iterable[BudgetResult], snapshot: Snapshot
) -> tuple[list[BudgetResult], tuple[str, ...]]:
    """The results with every FAIL the generator can explain made INCONCLUSIVE, and the one line
    (or none) that makes the run incomplete because of it."""
    processes = generator.per_process(snapshot.histograms)
    # the process the verdict names: the first saturated one, else the one with the highest lag P99
    worst = next((process for process in processes if saturation(process)), next(iter(processes), None))
    judged = [_judge(result, snapshot, worst) for result in results]
    if not any(result.generator_bound for result in judged):
        return judged, ()
    return judged, (bound_line(worst, snapshot),)


def _judge(result: BudgetResult, snapshot: Snapshot, worst: generator.ProcessHealth | None) -> BudgetResult:
    budget = result.budget
    if result.status != FAIL or result.observed is None or budget.comparison != "<":
        return result
    if generator.LOOP_LAG in budget.metric or generator.CPU in budget.metric or budget.metric == SCHEDULE_LAG:
        return result  # budgets on the generator itself are what they say
    if budget.metric == DROPPED:
        remaining = result.observed - snapshot.counter(DROPPED_BY_GENERATOR)
        if remaining > budget.threshold:
            return result
        why = f"{result.observed - remaining:.0f} of the drops were the generator falling behind its schedule"
        return _bound(result, why)
    if budget.kind != DURATION or worst is None:
        return result
    fastest = snapshot.histograms[budget.metric].min if budget.metric in snapshot.histograms else 0.0
    if fastest >= budget.threshold:
        return result
    saturated = saturation(worst)
    if saturated:
        return _bound(result, f"the generator was saturated ({saturated})")
    delay = generator_delay(budget.metric, snapshot, worst)
    if result.observed - delay >= budget.threshold:
        return result
    return _bound(result, f"up to {delay:.4g} ms of it can be the generator's own delay")


def saturation(process: generator.ProcessHealth) -> str | None:
    """Why `process` was saturated (its loop lag P99 or its CPU median), or None when it kept up."""
    if process.lag_p99 >= SATURATED_LAG_MS:
        return f"loop lag p99 {process.lag_p99:.4g} ms"
    if process.cpu_median is not None and process.cpu_median >= SATURATED_CPU_PERCENT:
        return f"CPU median {process.cpu_median:.0f}% of one core"
    return None


def generator_delay(metric: str, snapshot: Snapshot, worst: generator.ProcessHealth) -> float:
    """The most the generator may have added to `stat` of `metric`, in ms (module docstring)."""
    delay = DELAY_FACTOR * worst.lag.percentile(LAG_PERCENTILE)
    schedule_lag = snapshot.histograms.get(SCHEDULE_LAG)
    if metric.endswith(SCHEDULED_SUFFIX) and schedule_lag is not None and schedule_lag.count:
        delay += schedule_lag.percentile(LAG_PERCENTILE)
    return delay


def _bound(result: BudgetResult, why: str) -> BudgetResult:
    reason = f"generator-bound, not judged: {why}"
    return replace(result, status=INCONCLUSIVE, reason=reason, generator_bound=True)


def bound_line(worst: generator.ProcessHealth | None, snapshot: Snapshot) -> str:
    """The one line that says the generator, not the platform, limited this run, and what to do."""
    where = generator.describe(worst) if worst else "the open-model schedule fell behind"
    processes = len(generator.per_process(snapshot.histograms)) or 1
    return (
        f"generator-bound: the load generator was the bottleneck ({where}); "
        f"spread the load: --processes {processes * 2} or more workers (--master/--worker)"
    )
