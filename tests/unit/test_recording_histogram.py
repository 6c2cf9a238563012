"""Exact recording: histogram accuracy, exact merges, bounded memory, and sample mapping."""

import math
import random

import pytest

from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Aggregate, Recorder
from agentload.recording.samples import Sample, record_sample


def exact_percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered) - 1e-9)) - 1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_within_a_tenth_of_a_percent(seed: int) -> None:
    """Every percentile of log-normal samples (1 ms to 60 s) is within 0.1% of the exact one."""
    rng = random.Random(seed)
    values = [min(60_000.0, max(1.0, rng.lognormvariate(5.5, 1.5))) for _ in range(20_000)]
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    for percent in (1, 10, 50, 75, 90, 95, 99, 99.9):
        exact = exact_percentile(values, percent)
        assert abs(histogram.percentile(percent) - exact) <= exact * 0.001, percent


def test_chat_p95_of_1460_ms_is_not_rounded_to_1500() -> None:
    """A 1,460 ms P95 stays 1,460 ms (Locust's own buckets would report 1,500 ms)."""
    histogram = Histogram()
    for value in [1000.0] * 94 + [1460.0] * 5 + [1490.0]:
        histogram.record(value)
    assert histogram.percentile(95) == pytest.approx(1460.0, rel=0.001)
    assert histogram.percentile(95) < 1500


def test_merge_is_exact() -> None:
    """Merging two histograms equals recording the union of their samples."""
    rng = random.Random(7)
    left, right, union = Histogram(), Histogram(), Histogram()
    for i in range(5000):
        value = rng.expovariate(1 / 300)
        (left if i % 2 else right).record(value)
        union.record(value)
    left.merge(right)
    assert left.buckets == union.buckets
    assert (left.count, left.min, left.max) == (union.count, union.min, union.max)
    assert left.total == pytest.approx(union.total)


def test_memory_is_bounded_by_buckets_not_samples() -> None:
    """200,000 samples in a narrow band use a few thousand buckets at most."""
    histogram = Histogram()
    rng = random.Random(3)
    for _ in range(200_000):
        histogram.record(rng.uniform(100, 2000))
    assert len(histogram.buckets) < 5000


def test_wire_round_trip() -> None:
    """A histogram survives the worker-report wire form unchanged."""
    histogram = Histogram()
    for value in (0.2, 5.0, 800.0, 12_345.6):
        histogram.record(value)
    assert Histogram.from_wire(histogram.to_wire()) == histogram


def test_min_and_max_are_exact() -> None:
    """The extreme ranks return the exact recorded minimum and maximum."""
    histogram = Histogram()
    for value in (3.14159, 2718.28):
        histogram.record(value)
    assert histogram.value_at_rank(1) == 3.14159
    assert histogram.value_at_rank(2) == 2718.28


def test_record_sample_counts_errors_shed_and_5xx_separately() -> None:
    """Only successes feed latency; errors, shed and 5xx are counted by name."""
    recorder = Recorder()
    record_sample(recorder, Sample("intent_inference_latency", 120.0, "ok"))
    record_sample(recorder, Sample("intent_inference_latency", 5.0, "error", "http 500", status=500))
    record_sample(recorder, Sample("intent_inference_latency", 2.0, "shed", "shed: http 429", status=429))
    record_sample(
        recorder, Sample("chat_response_latency", 900.0, "error", "truncated stream", 200, ttft_ms=240.0)
    )
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    snapshot = aggregate.snapshot()
    assert snapshot.counters == {"requests": 4, "errors": 2, "http_5xx": 1, "shed": 1}
    assert snapshot.errors == {"http 500": 1, "shed: http 429": 1, "truncated stream": 1}
    assert snapshot.histograms["intent_inference_latency"].count == 1
    assert "chat_response_latency" not in snapshot.histograms
    assert snapshot.histograms["chat_time_to_first_token"].count == 1


def test_scheduled_latency_adds_the_schedule_lag() -> None:
    """Arrival-rate samples also record latency from the scheduled start."""
    recorder = Recorder()
    record_sample(recorder, Sample("chat_response_latency", 100.0, "ok", schedule_lag_ms=50.0))
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    histograms = aggregate.snapshot().histograms
    assert histograms["chat_response_latency_scheduled"].percentile(50) == pytest.approx(150.0, rel=0.001)
    assert histograms["iteration_schedule_lag"].percentile(50) == pytest.approx(50.0, rel=0.001)


def test_stages_are_kept_apart_and_sum_to_the_total() -> None:
    """Samples recorded in different stages merge into per-stage deltas and one total."""
    recorder = Recorder()
    recorder.stage = "hold 50"
    recorder.observe("intent_inference_latency", 10.0)
    recorder.stage = "hold 100"
    recorder.observe("intent_inference_latency", 20.0)
    recorder.count("requests", 2)
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    snapshot = aggregate.snapshot()
    assert snapshot.stages["hold 50"].histograms["intent_inference_latency"].count == 1
    assert snapshot.histograms["intent_inference_latency"].count == 2
    assert recorder.drain() == {}


def test_window_keeps_only_recent_deltas() -> None:
    """The recent window shows what arrived in the last N seconds; the total keeps everything."""
    aggregate = Aggregate()
    for at, value in ((0.0, 100.0), (50.0, 200.0), (58.0, 300.0)):
        recorder = Recorder()
        recorder.observe("intent_inference_latency", value)
        aggregate.merge_wire(recorder.drain(), now=at)
    recent = aggregate.window(10.0, now=60.0).histograms["intent_inference_latency"]
    assert recent.count == 2 and recent.min == 200.0
    assert aggregate.snapshot().histograms["intent_inference_latency"].count == 3
