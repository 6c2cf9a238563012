"""Stress analysis: per-stage numbers, the first stage that broke a budget, and graceful vs. not graceful."""

import json
from dataclasses import dataclass, field

import pytest

from agentload.budgets.breaking_point import analyse_stages
from agentload.budgets.model import Budget, BudgetFile, Policy, Verdict
from agentload.recording.recorder import Aggregate, Recorder, Snapshot
from agentload.recording.samples import Sample, record_sample
from agentload.reporting import (
    build_report,
    render_breaking_point,
    render_summary,
    validate_report,
)
from agentload.reporting.breaking_point import to_dict

SECONDS = 10.0
BUDGETS = BudgetFile(
    (
        Budget("intent_inference_latency", "p95", 800.0, "CRITICAL"),
        Budget("error_rate", "rate", 0.01, "HIGH"),
    )
)


@dataclass
class Stage:
    name: str
    rps: int
    p95: float
    shed: float = 0.0
    failures: dict[str, float] = field(default_factory=dict)


def stress_snapshot(*stages: Stage) -> Snapshot:
    """Samples per stage through the real recorder: 90% at p95/2, 10% at p95, then shed and failed ones."""
    recorder, aggregate = Recorder(), Aggregate()
    for stage in stages:
        recorder.stage = stage.name
        total = int(stage.rps * SECONDS)
        bad = {"shed: http 429": round(total * stage.shed)} | {
            k: round(total * v) for k, v in stage.failures.items()
        }
        ok = total - sum(bad.values())
        for i in range(ok):
            latency = stage.p95 if i % 10 == 0 else stage.p95 / 2
            record_sample(recorder, Sample("intent_inference_latency", latency, "ok"))
        for failure, n in bad.items():
            outcome = "shed" if failure.startswith("shed") else "error"
            status = int(failure.split()[-1]) if failure.startswith(("http", "shed")) else 0
            for _ in range(n):
                record_sample(
                    recorder, Sample("intent_inference_latency", 0.0, outcome, failure, status=status)
                )
    aggregate.merge_wire(recorder.drain())
    windows = [{"name": stage.name, "seconds": SECONDS} for stage in stages]
    return aggregate.snapshot({"stage_windows": windows})


def healthy_start() -> tuple[Stage, Stage]:
    return Stage("ramp 10", 10, 200.0), Stage("hold 20", 20, 320.0)


def test_graceful_when_failures_are_shedding() -> None:
    """Breaking at stage 3 with shed-only failures and bounded latency is graceful."""
    snapshot = stress_snapshot(
        *healthy_start(), Stage("hold 40", 40, 500.0, shed=0.10), Stage("hold 80", 80, 600.0, shed=0.30)
    )
    report = analyse_stages(snapshot, BUDGETS)
    assert [s.held for s in report.stages] == [True, True, False, False]
    assert report.breaking_stage == "hold 40" and report.last_healthy_stage == "hold 20"
    assert report.graceful is True and report.reasons == ()
    third = report.stages[2]
    assert third.rps == 40.0 and third.requests == 400
    assert third.shed_rate == pytest.approx(0.10) and third.error_rate == 0.0
    assert third.broken == ("error_rate rate",)
    assert third.p95["intent_inference_latency"] == pytest.approx(500.0, rel=0.001)


def test_not_graceful_with_timeouts_and_500s() -> None:
    """Timeouts and 500s above 1% of requests and a 6x P95 make the degradation not graceful, with reasons."""
    snapshot = stress_snapshot(
        *healthy_start(),
        Stage("hold 40", 40, 1920.0, failures={"timeout": 0.05, "http 500": 0.02}),
        Stage("hold 80", 80, 900.0, shed=0.02, failures={"connection reset": 0.005}),
    )
    report = analyse_stages(snapshot, BUDGETS)
    assert report.breaking_stage == "hold 40" and report.graceful is False
    assert set(report.stages[2].broken) == {
        "intent_inference_latency p95",
        "error_rate rate",
        "http_5xx (policy.fail_on_5xx)",
    }
    assert report.reasons == (
        "hard errors: 7.00% of requests at stage hold 40 (timeout 5.00%, http 500 2.00%)",
        "failures are mostly hard errors, not shedding: 32 hard errors vs 16 shed",
        "intent_inference_latency p95 grew 6.0× (unbounded) at stage hold 40: "
        "1.92s vs 320ms at stage hold 20",
    )


def test_none_found_when_every_stage_holds() -> None:
    """When every budget holds in every stage there is no breaking point and no degradation verdict."""
    report = analyse_stages(stress_snapshot(*healthy_start(), Stage("hold 40", 40, 400.0)), BUDGETS)
    assert report.breaking_stage is None and not report.found and report.graceful is None
    assert report.last_healthy_stage == "hold 40"
    text = render_breaking_point(report)
    assert "breaking point: none found" in text and "degradation" not in text


def test_render_table_and_conclusion() -> None:
    """The console table has one row per stage and ends with breaking point, last healthy and degradation."""
    snapshot = stress_snapshot(
        *healthy_start(), Stage("hold 40", 40, 500.0, shed=0.1), Stage("hold 80", 80, 600.0, shed=0.3)
    )
    lines = render_breaking_point(analyse_stages(snapshot, BUDGETS)).splitlines()
    assert lines[1].split() == [
        "STAGE",
        "SECONDS",
        "REQ/S",
        "HARD",
        "ERR",
        "SHED",
        "intent_inference_latency",
        "p95",
        "BUDGETS",
    ]
    assert lines[4].split() == [
        "hold",
        "40",
        "10",
        "40",
        "0.00%",
        "10.00%",
        "500ms",
        "BROKE",
        "error_rate",
        "rate",
    ]
    assert lines[-3:] == [
        "breaking point: stage hold 40 (40 req/s)",
        "last healthy stage: hold 20 (20 req/s)",
        "degradation: graceful",
    ]


def test_breaking_at_first_stage_uses_budget_bound() -> None:
    """Without a healthy stage, latency is bounded by 2x its budget threshold."""
    report = analyse_stages(stress_snapshot(Stage("spike", 50, 2000.0, shed=0.2)), BUDGETS)
    assert report.breaking_stage == "spike" and report.last_healthy_stage is None
    assert report.reasons == (
        "intent_inference_latency p95 reached 2s (unbounded) at stage spike: 2s over 2x its budget 800ms",
    )


def test_min_samples_is_ignored_per_stage() -> None:
    """A budget breaks in a stage even with far fewer samples than its min_samples."""
    strict = BudgetFile((Budget("intent_inference_latency", "p95", 250.0, min_samples=100_000),))
    report = analyse_stages(stress_snapshot(*healthy_start()), strict)
    assert report.breaking_stage == "hold 20"


def test_budgets_outside_fail_on_do_not_break() -> None:
    """A LOW budget the policy does not fail on cannot set the breaking point."""
    policy = Policy(fail_on=("CRITICAL", "HIGH"))
    budgets = BudgetFile((*BUDGETS.budgets, Budget("intent_inference_latency", "p95", 1.0, "LOW")), policy)
    assert analyse_stages(stress_snapshot(*healthy_start()), budgets).breaking_stage is None


def test_explicit_windows_and_missing_stage() -> None:
    """Explicit (name, seconds) windows match meta's; a stage without data has held None and cannot break."""
    snapshot = stress_snapshot(*healthy_start())
    explicit = analyse_stages(
        snapshot, BUDGETS, [("ramp 10", SECONDS), ("hold 20", SECONDS), ("cooldown", 5.0)]
    )
    assert explicit.stages[:2] == analyse_stages(snapshot, BUDGETS).stages
    cooldown = explicit.stages[2]
    assert (cooldown.requests, cooldown.rps, cooldown.held, cooldown.error_rate) == (0, 0.0, None, None)
    assert explicit.breaking_stage is None and explicit.last_healthy_stage == "hold 20"


def test_to_dict_is_json_and_fits_the_report_schema() -> None:
    """to_dict is plain JSON that validates as the report's breaking_point object."""
    snapshot = stress_snapshot(*healthy_start(), Stage("hold 40", 40, 1800.0, failures={"timeout": 0.05}))
    report = analyse_stages(snapshot, BUDGETS)
    data = json.loads(json.dumps(to_dict(report), allow_nan=False))
    assert data["found"] is True and data["graceful"] is False and data["breaking_rps"] == 40.0
    assert data["summary"] == "stage hold 40 (40 req/s)" and data["rule"].startswith("graceful when")
    assert data["stages"][2]["hard_errors"] == {"timeout": 20}
    full = build_report(snapshot, Verdict("FAIL", 1, ()), breaking_point=report)
    validate_report(full)
    assert full["breaking_point"] == data


def test_console_summary_includes_the_analysis() -> None:
    """render_summary prints the stress analysis, when given one, just before the verdict line."""
    snapshot = stress_snapshot(*healthy_start(), Stage("hold 40", 40, 500.0, shed=0.1))
    text = render_summary(
        snapshot, Verdict("FAIL", 1, ()), color=False, breaking_point=analyse_stages(snapshot, BUDGETS)
    )
    assert text.endswith(
        "breaking point: stage hold 40 (40 req/s)\nlast healthy stage: hold 20 (20 req/s)\n"
        "degradation: graceful\n\nverdict: FAIL (exit 1)\n"
    )


def test_without_windows_uses_recorded_stage_order() -> None:
    """Without stage windows the recorded stages are analysed in order, with unknown rates."""
    snapshot = stress_snapshot(*healthy_start(), Stage("hold 40", 40, 500.0, shed=0.1))
    bare = Snapshot(snapshot.histograms, snapshot.counters, snapshot.errors, snapshot.stages)
    report = analyse_stages(bare, BUDGETS)
    assert [s.name for s in report.stages] == ["ramp 10", "hold 20", "hold 40"]
    assert report.breaking_stage == "hold 40" and report.stages[2].rps is None
    assert "breaking point: stage hold 40 (unknown req/s)" in render_breaking_point(report)


def parts_snapshot(queue_ms: list[float], llm_ms: list[float]) -> Snapshot:
    """One stage per pair of (queue, llm) means, 50 intents each, with Server-Timing parts."""
    recorder, aggregate = Recorder(), Aggregate()
    for i, (queue, llm) in enumerate(zip(queue_ms, llm_ms, strict=True)):
        recorder.stage = f"stage {i}"
        timing = {"queue": queue, "llm": llm, "app": queue + llm}
        for _ in range(50):
            record_sample(
                recorder, Sample("intent_inference_latency", queue + llm + 1, "ok", server_timing=timing)
            )
    aggregate.merge_wire(recorder.drain())
    windows = [{"name": f"stage {i}", "seconds": SECONDS} for i in range(len(queue_ms))]
    return aggregate.snapshot({"stage_windows": windows})


@pytest.mark.parametrize(
    ("queue_ms", "llm_ms", "expected"),
    [
        ([0.1, 0.2, 80.0, 300.0], [100.0, 110.0, 120.0, 400.0], ("queue", "stage 1", "stage 2")),
        ([0.1, 0.1, 0.1, 90.0], [100.0, 100.0, 300.0, 300.0], ("llm", "stage 1", "stage 2")),
        ([0.1, 0.1, 0.1], [100.0, 104.0, 140.0], None),  # +40% is not growth
    ],
)
def test_breaking_point_names_the_component_that_grew_first(queue_ms, llm_ms, expected) -> None:
    """The first part that grew >= 1.5x and >= 5 ms between stages is named, in text and JSON."""
    report = analyse_stages(parts_snapshot(queue_ms, llm_ms), BUDGETS)
    growth = report.growth
    if expected is None:
        assert growth is None and to_dict(report)["component_growth"] is None
        return
    assert (growth.part, growth.from_stage, growth.to_stage) == expected
    assert growth.metric == "intent_inference_latency"
    assert f"component: {growth.part} grew first" in render_breaking_point(report)
    full = build_report(parts_snapshot(queue_ms, llm_ms), Verdict("FAIL", 1, ()), breaking_point=report)
    validate_report(full)
    assert full["breaking_point"]["component_growth"]["part"] == growth.part
