"""Component breakdowns and the slowest requests: recorded from samples, merged exactly, explained."""

import math
import random

import pytest

from agentload.budgets import evaluate
from agentload.budgets.explain import explain
from agentload.budgets.model import Budget, BudgetFile, Policy
from agentload.recording.breakdown import Breakdown, bucket_of, parts_of
from agentload.recording.exemplars import Exemplar, Slowest
from agentload.recording.recorder import Aggregate, Recorder
from agentload.recording.samples import Sample, record_sample

METRIC = "intent_inference_latency"


def sample(latency: float, llm: float, trace: str, status: int = 200) -> Sample:
    timing = {"queue": 1.0, "llm": llm, "db": 5.0, "app": llm + 8.0}
    return Sample(METRIC, latency, "ok", status=status, trace_id=trace, started_at=1e9, server_timing=timing)


def test_parts_add_up_to_the_latency() -> None:
    """Components + other + client = the request's latency; ttft is not a part."""
    parts = parts_of(100.0, {"llm": 60.0, "db": 20.0, "app": 90.0, "ttft": 40.0})
    assert parts == {"llm": 60.0, "db": 20.0, "other": 10.0, "client": 10.0}
    assert parts_of(5.0, {"llm": 3.0}) == {"llm": 3.0}  # without app: nothing to subtract from


def test_buckets_are_a_sixteenth_of_an_octave() -> None:
    """Bucket k holds [2^(k/16), 2^((k+1)/16)) ms."""
    assert bucket_of(1.0) == 0
    assert bucket_of(2.0) == 16
    assert bucket_of(2.0 * 2 ** (1 / 16) * 1.0001) == 17
    assert bucket_of(0.0) == bucket_of(0.001)


def test_record_sample_records_parts_breakdown_and_slowest() -> None:
    """One sample with Server-Timing: `<metric>.<part>` histograms, a breakdown and an exemplar."""
    recorder = Recorder(source="w1")
    record_sample(recorder, sample(120.0, 100.0, "t1"))
    record_sample(recorder, Sample(METRIC, 50.0, "error", "http 500", 500, trace_id="t2"))
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    snap = aggregate.snapshot()
    assert snap.histograms[f"{METRIC}.llm"].count == 1
    assert snap.histograms[f"{METRIC}.client"].max == pytest.approx(12.0, rel=1e-3)
    assert snap.histograms[f"{METRIC}.app"].count == 1
    assert snap.breakdowns[METRIC].tail(0.0).requests == 1
    (kept,) = snap.slowest[METRIC].ranked()  # the failed request is no exemplar
    assert (kept.trace_id, kept.worker, kept.status, kept.server_timing["llm"]) == ("t1", "w1", 200, 100.0)


def test_merges_are_exact_in_any_split_and_order() -> None:
    """Breakdowns and top-10s merged from 3 recorders over the wire equal one recorder's."""
    rng = random.Random(5)
    samples = [sample(rng.lognormvariate(5, 0.6), rng.uniform(1, 300), f"t{i}") for i in range(500)]
    whole = Recorder()
    for s in samples:
        record_sample(whole, s)
    parts = [Recorder(), Recorder(), Recorder()]
    for s in samples:
        record_sample(rng.choice(parts), s)
    one, many = Aggregate(), Aggregate()
    one.merge_wire(whole.drain())
    for recorder in reversed(parts):
        many.merge_wire(recorder.drain())
    a, b = one.snapshot(), many.snapshot()
    ids_a = [e.trace_id for e in a.slowest[METRIC].ranked()]
    ids_b = [e.trace_id for e in b.slowest[METRIC].ranked()]
    slowest_ten = sorted(samples, key=lambda s: s.latency_ms, reverse=True)[:10]
    assert ids_a == ids_b == [s.trace_id for s in slowest_ten]
    tail_a, tail_b = a.breakdowns[METRIC].tail(300.0), b.breakdowns[METRIC].tail(300.0)
    floor_of_300s_bucket = 2 ** (math.floor(16 * math.log2(300)) / 16)  # 16 buckets per octave
    in_tail = sum(1 for s in samples if s.latency_ms >= floor_of_300s_bucket)
    assert tail_a.requests == tail_b.requests == in_tail > 0
    for part, ms in tail_a.parts_ms.items():
        assert tail_b.parts_ms[part] == pytest.approx(ms, rel=1e-9)


def test_slowest_is_bounded_and_ordered() -> None:
    """A Slowest keeps `keep` entries, slowest first; ties break by start time then trace id."""
    kept = Slowest(keep=3)
    for i, latency in enumerate([5, 9, 1, 9, 7, 3]):
        kept.offer(Exemplar(float(latency), float(i), f"t{i}"))
    assert [(e.latency_ms, e.trace_id) for e in kept.ranked()] == [(9.0, "t3"), (9.0, "t1"), (7.0, "t4")]
    assert Slowest.from_wire(kept.to_wire()).ranked() == kept.ranked()


def test_breakdown_wire_round_trip() -> None:
    """A breakdown survives the wire unchanged."""
    breakdown = Breakdown()
    breakdown.add(100.0, {"llm": 90.0, "client": 10.0})
    breakdown.add(3.0, {"db": 3.0})
    assert Breakdown.from_wire(breakdown.to_wire()) == breakdown


def _snapshot_with(llm_heavy_tail: bool):
    recorder = Recorder()
    for i in range(200):
        slow = i >= 180
        llm = 400.0 if (slow and llm_heavy_tail) else 50.0
        db = 400.0 if (slow and not llm_heavy_tail) else 5.0
        timing = {"llm": llm, "db": db, "app": llm + db}
        record_sample(recorder, Sample(METRIC, llm + db + 2.0, "ok", status=200, server_timing=timing))
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    return aggregate.snapshot()


@pytest.mark.parametrize(
    ("llm_heavy", "dominant", "share", "shown"),
    [(True, "llm", 400 / 407, "98%"), (False, "db", 400 / 452, "88%")],
)
def test_failing_budget_names_the_component_of_the_slow_tail(llm_heavy, dominant, share, shown) -> None:
    """The explanation of a FAIL names the part that dominates the requests above the P95."""
    snap = _snapshot_with(llm_heavy)
    file = BudgetFile(budgets=(Budget(METRIC, "p95", 300.0),), policy=Policy(fail_on_5xx=False))
    (result,) = evaluate(file, snap).results
    assert result.status == "FAIL"
    assert result.explanation.dominant == dominant
    assert result.explanation.requests == 20
    assert result.explanation.parts[0].share == pytest.approx(share, rel=1e-6)
    assert result.explanation.text.startswith(f"{dominant} {shown} (400ms)")


def test_passing_budget_has_no_explanation() -> None:
    """Only failing latency budgets are explained."""
    snap = _snapshot_with(True)
    file = BudgetFile(budgets=(Budget(METRIC, "p95", 5000.0),), policy=Policy(fail_on_5xx=False))
    (result,) = evaluate(file, snap).results
    assert result.status == "PASS" and result.explanation is None


def test_explain_without_server_timing_is_none() -> None:
    """No breakdown (a target without Server-Timing): no explanation, no error."""
    snap = _snapshot_with(True)
    assert explain(METRIC, snap.histograms[METRIC], None) is None
