"""Declared metrics: names and kinds in the registry, and values reaching the bound recorder."""

from __future__ import annotations

import pytest

from agentload.budgets import evaluate, parse_budgets
from agentload.recording import metrics
from agentload.recording.metrics import COUNT, DURATION, NUMBER, RATE, Counter, Rate, Trend, kind_of
from agentload.recording.recorder import Aggregate, Recorder


@pytest.fixture
def recorder() -> Recorder:
    recorder = Recorder()
    metrics.bind(recorder)
    return recorder


def snapshot(recorder: Recorder):
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    return aggregate.snapshot()


def test_declarations_register_names_and_kinds() -> None:
    """Trend(ms) is a duration with a scheduled twin, Trend(other unit) a number, Counter and Rate theirs."""
    Trend("test_queue_wait")
    Trend("test_tokens_left", unit="tokens")
    Counter("test_retries")
    Rate("test_cache_hit")
    kinds = [kind_of(n) for n in ("test_queue_wait", "test_tokens_left", "test_retries", "test_cache_hit")]
    assert kinds == [DURATION, NUMBER, COUNT, RATE]
    assert metrics.METRICS["test_queue_wait_scheduled"] == DURATION
    assert kind_of("some_request_name") == DURATION  # undeclared histograms are request durations


def test_redeclaring_with_another_kind_is_refused() -> None:
    """The same name cannot be a Trend in one place and a Counter in another."""
    Trend("test_dual")
    Trend("test_dual")  # the same kind again is harmless
    with pytest.raises(ValueError, match="already a duration metric, cannot declare it as count"):
        Counter("test_dual")
    with pytest.raises(ValueError, match="kind must be one of"):
        metrics.declare("test_bad_kind", "gauge")


def test_values_reach_the_bound_recorder_and_a_budget(recorder: Recorder) -> None:
    """Trend, Counter and Rate values are recorded exactly and judged by budgets on their names."""
    wait, retries, hits = Trend("test_wait_ms"), Counter("test_retry_count"), Rate("test_hit_rate")
    for value in range(1, 101):
        wait.add(value)
        hits.add(value % 4 != 0)
    retries.add(3)
    retries.add()
    snap = snapshot(recorder)
    assert snap.histograms["test_wait_ms"].percentile(95) == pytest.approx(95, rel=1e-3)
    assert (snap.counter("test_retry_count"), snap.counter("test_hit_rate:true")) == (4, 75)
    budgets = parse_budgets(
        "budgets:\n"
        "  - {metric: test_wait_ms, stat: p95, threshold: 90ms, min_samples: 1}\n"
        "  - {metric: test_retry_count, stat: count, threshold: 5}\n"
        "  - {metric: test_hit_rate, stat: rate, comparison: '>', threshold: 60%, min_samples: 1}\n"
    )
    results = {r.budget.metric: (r.status, r.observed) for r in evaluate(budgets, snap).results}
    assert results["test_wait_ms"] == ("FAIL", pytest.approx(95, rel=1e-3))
    assert results["test_retry_count"] == ("PASS", 4)
    assert results["test_hit_rate"] == ("PASS", 0.75)


def test_budgets_file_declares_request_metrics() -> None:
    """`metrics:` makes a request name known with its kind, and its scheduled twin too."""
    budgets = parse_budgets(
        "metrics:\n  workflow_latency: duration\n  jobs_queued: count\n"
        "budgets:\n"
        "  - {metric: workflow_latency, stat: p95, threshold: 2s}\n"
        "  - {metric: workflow_latency_scheduled, stat: p95, threshold: 3s}\n"
        "  - {metric: jobs_queued, stat: count, threshold: 10}\n"
    )
    assert dict(budgets.metrics) == {"workflow_latency": "duration", "jobs_queued": "count"}
    assert [b.kind for b in budgets.budgets] == [DURATION, DURATION, COUNT]
