"""JSON report: shape, schema validity of every report built here, NaN -> null, and atomic writes."""

import json
import math
import os
from pathlib import Path

import jsonschema
import pytest

from agentload.budgets import compare_to_baseline, evaluate, parse_budgets
from agentload.budgets.breaking_point import analyse_stages
from agentload.budgets.model import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    WARN,
    Budget,
    BudgetFile,
    BudgetResult,
    Regression,
    Verdict,
)
from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Aggregate, Recorder, Snapshot
from agentload.recording.samples import Sample, record_sample
from agentload.reporting import build_report, load_schema, validate_report, write_json
from agentload.reporting.json_report import dumps, strip_credentials

TOP_KEYS = {
    "schema_version",
    "verdict",
    "exit_code",
    "run",
    "metrics",
    "budgets",
    "counters",
    "rates",
    "errors",
    "incomplete",
    "regressions",
    "notes",
}


def hist(*values: float) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram


def recorded_snapshot(meta: dict | None = None) -> Snapshot:
    """A snapshot built the way a run builds it: samples -> Recorder -> Aggregate, in two stages."""
    recorder, aggregate = Recorder(), Aggregate()
    for stage, latency in (("warm", 120.0), ("hold", 180.0)):
        recorder.stage = stage
        for i in range(300):
            record_sample(
                recorder, Sample("intent_inference_latency", latency + i % 50, "ok", schedule_lag_ms=1.5)
            )
            record_sample(
                recorder,
                Sample(
                    "chat_response_latency",
                    900.0 + i,
                    "ok",
                    ttft_ms=200.0 + i,
                    inter_token_ms=(20.0, 25.0),
                    output_tokens=40 + i % 7,
                    tokens_per_second=35.5,
                ),
            )
        record_sample(recorder, Sample("step_execution_latency", 0, "error", "timeout"))
        record_sample(recorder, Sample("step_execution_latency", 0, "error", "http 500", status=500))
        record_sample(recorder, Sample("intent_inference_latency", 0, "shed", "shed: http 429", status=429))
    aggregate.merge_wire(recorder.drain())
    windows = [{"name": "warm", "seconds": 30.0}, {"name": "hold", "seconds": 60.0}]
    return aggregate.snapshot({"profile": "smoke", "stage_windows": windows, **(meta or {})})


def sample_verdict() -> Verdict:
    results = (
        BudgetResult(
            Budget("intent_inference_latency", "p95", 800.0, "CRITICAL"), PASS, 220.0, 600, 215.0, 226.0
        ),
        BudgetResult(
            Budget("error_rate", "rate", 0.01, name="errors"), FAIL, 0.0099, 1206, 0.005, 0.018, True, "m"
        ),
        BudgetResult(Budget("chat_tokens_per_second", "p50", 20.0, "LOW", comparison=">"), WARN, 21.0, 600),
        BudgetResult(Budget("health_check_latency", "p99", 100.0, "MEDIUM"), INCONCLUSIVE, None, 0),
        BudgetResult(Budget("http_5xx", "count", 0.0), FAIL, 2.0, 1206),
    )
    regression = Regression("intent_inference_latency", 150.0, 220.0, 0.4667, True)
    return Verdict(
        FAIL,
        1,
        results,
        incomplete=("no samples for health_check_latency",),
        regressions=(regression,),
        notes=("a note",),
    )


def reports() -> list[dict]:
    """Every kind of report this suite builds; each one must validate against the shipped schema."""
    snapshot = recorded_snapshot({"host": "https://user:secret@api.example:8443/v1", "time_scale": 0.1})
    empty = Snapshot(histograms={"intent_inference_latency": Histogram()}, counters={}, errors={})
    bf = BudgetFile((Budget("intent_inference_latency", "p95", 150.0),))
    return [
        build_report(snapshot, sample_verdict(), {"started_at": "2024-05-01T10:00:00Z", "duration_s": 90.0}),
        build_report(empty, Verdict(PASS, 0, ()), None),
        build_report(snapshot, Verdict(PASS, 0, ()), {}, breaking_point=analyse_stages(snapshot, bf)),
    ]


def test_shipped_schema_is_valid_draft_2020_12() -> None:
    """report.schema.json is itself a valid draft 2020-12 schema."""
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("index", range(3))
def test_every_report_validates(index: int) -> None:
    """Each report built in these tests validates against the shipped schema, also after a JSON round trip."""
    report = reports()[index]
    validate_report(report)
    validate_report(json.loads(dumps(report)))


def test_required_top_level_keys_and_shapes() -> None:
    """The report has every required key, metrics in ms with ci, and budgets with all their fields."""
    report = reports()[0]
    assert set(report) >= TOP_KEYS
    assert report["verdict"] == FAIL and report["exit_code"] == 1
    intent = report["metrics"]["intent_inference_latency"]
    assert set(intent) == {"count", "avg", "min", "med", "max", "p50", "p90", "p95", "p99", "ci"}
    raw = sorted([120.0 + i % 50 for i in range(300)] + [180.0 + i % 50 for i in range(300)])
    true_p95 = raw[math.ceil(0.95 * len(raw)) - 1]  # nearest rank: 224.0
    assert intent["count"] == 600 and intent["p95"] == pytest.approx(true_p95, rel=1 / 2048)
    low, high = intent["ci"]["p95"]
    assert low <= intent["p95"] <= high
    budget = report["budgets"][1]
    assert budget == {
        "label": "errors",
        "metric": "error_rate",
        "stat": "rate",
        "comparison": "<",
        "threshold": 0.01,
        "unit": "fraction",
        "criticality": "HIGH",
        "status": FAIL,
        "observed": 0.0099,
        "ci_low": 0.005,
        "ci_high": 0.018,
        "samples": 1206,
        "marginal": True,
        "message": "m",
        "reason": None,
        "generator_bound": False,
    }
    assert report["errors"] == {"http 500": 2, "shed: http 429": 2, "timeout": 2}
    assert report["counters"]["requests"] == 1206 and report["counters"]["http_5xx"] == 2
    assert report["rates"]["shed_rate"] == pytest.approx(2 / 1206)
    assert report["regressions"][0]["metric"] == "intent_inference_latency"
    assert [stage["name"] for stage in report["stages"]] == ["warm", "hold"]


def test_metrics_in_registry_order() -> None:
    """Metrics appear in the METRICS registry order, not in recording order."""
    names = list(reports()[0]["metrics"])
    assert names[:3] == ["intent_inference_latency", "chat_response_latency", "chat_time_to_first_token"]
    assert names.index("chat_output_tokens") < names.index("intent_inference_latency_scheduled")


def test_run_metadata_and_credentials_stripped() -> None:
    """run carries the caller's metadata (not stage_windows) and never a password in the host."""
    run = reports()[0]["run"]
    assert run["host"] == "https://api.example:8443/v1"
    assert run["profile"] == "smoke" and run["time_scale"] == 0.1 and run["duration_s"] == 90.0
    assert "stage_windows" not in run
    assert strip_credentials("http://localhost:8080") == "http://localhost:8080"


def test_unix_times_become_iso_strings() -> None:
    """The suite's time.time() start and end become ISO 8601 UTC strings, the numbers kept as *_unix."""
    snapshot = recorded_snapshot({"started_at": 1714557600.0, "ended_at": 1714557690.5, "duration_s": 90.5})
    report = build_report(snapshot, Verdict(PASS, 0, ()), snapshot.meta)
    validate_report(report)
    run = report["run"]
    assert (run["started_at"], run["ended_at"]) == ("2024-05-01T10:00:00.000Z", "2024-05-01T10:01:30.500Z")
    assert run["started_at_unix"] == 1714557600.0


def test_nan_and_infinity_become_null() -> None:
    """NaN and infinities anywhere in the report are written as null, and the text has no NaN/Infinity."""
    nan_result = BudgetResult(
        Budget("intent_inference_latency", "avg", 100.0), INCONCLUSIVE, math.nan, 0, -math.inf, math.inf
    )
    snapshot = Snapshot(histograms={}, counters={}, errors={})
    report = build_report(
        snapshot, Verdict(INCONCLUSIVE, 1, (nan_result,)), {"duration_s": math.nan, "x": math.inf}
    )
    validate_report(report)
    assert report["budgets"][0]["observed"] is None and report["budgets"][0]["ci_high"] is None
    assert report["run"] == {"duration_s": None, "x": None}
    text = dumps({"a": [math.nan, {"b": -math.inf}]})
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"a": [None, {"b": None}]}


def test_schema_rejects_bad_reports() -> None:
    """An unknown verdict, a missing key or a wrong CI shape fails validation."""
    good = reports()[1]
    for bad in (
        {**good, "verdict": "MAYBE"},
        {key: value for key, value in good.items() if key != "budgets"},
        {**good, "metrics": {"x": {**good["metrics"]["intent_inference_latency"], "ci": {"p95": [1.0]}}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            validate_report(bad)


def test_write_json_is_atomic_and_creates_parents(tmp_path: Path) -> None:
    """write_json creates parent directories, replaces the file whole and leaves no temporary file."""
    target = tmp_path / "deep" / "er" / "report.json"
    write_json(target, {"verdict": "PASS"})
    write_json(target, reports()[0])
    validate_report(json.loads(target.read_text(encoding="utf-8")))
    assert os.listdir(target.parent) == ["report.json"]


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the final rename fails, the previous report is intact and the temporary file is removed."""
    target = tmp_path / "report.json"
    write_json(target, {"old": True})

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_json(target, reports()[1])
    assert json.loads(target.read_text(encoding="utf-8")) == {"old": True}
    assert os.listdir(tmp_path) == ["report.json"]


def test_report_is_a_usable_baseline() -> None:
    """The budgets package's baseline comparator reads p95 and ci.p95 from a written report."""
    snapshot = recorded_snapshot()
    baseline = json.loads(dumps(build_report(snapshot, Verdict(PASS, 0, ()))))
    regressions = compare_to_baseline(snapshot.histograms, baseline, 0.1)
    intent = next(r for r in regressions if r.metric == "intent_inference_latency")
    assert intent.baseline_p95 == pytest.approx(
        snapshot.histograms["intent_inference_latency"].percentile(95)
    )
    assert not intent.significant


def test_end_to_end_evaluate_into_report() -> None:
    """budgets.yaml -> evaluate -> build_report validates and carries the evaluated statuses."""
    budget_file = parse_budgets(
        "budgets:\n"
        "  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, criticality: CRITICAL}\n"
        "  - {metric: chat_time_to_first_token, stat: p95, threshold: 300ms}\n"
        "  - {metric: error_rate, threshold: 1%}\n"
        "policy:\n  fail_on_5xx: true\n"
    )
    suite_meta = {
        "host": "http://127.0.0.1:8080",
        "started_at": 1714557600.0,
        "ended_at": 1714557690.0,
        "duration_s": 90.0,
        "time_scale": 1.0,
    }
    snapshot = recorded_snapshot(suite_meta)
    verdict = evaluate(budget_file, snapshot)
    report = build_report(snapshot, verdict, {"profile": "ci", "version": "0.1.0", "git_commit": None})
    validate_report(report)
    statuses = {b["metric"]: b["status"] for b in report["budgets"]}
    assert statuses["intent_inference_latency"] == PASS
    assert statuses["chat_time_to_first_token"] == FAIL
    assert statuses["http_5xx"] == FAIL
    assert report["verdict"] == verdict.status == FAIL and report["exit_code"] == 1


def test_stream_formats_seen_are_reported_under_run() -> None:
    """Samples carrying a stream format are counted per format and listed in run.stream_formats."""
    recorder, aggregate = Recorder(), Aggregate()
    for stream_format in ("text", "ai-sdk", "text", None):
        record_sample(recorder, Sample("chat_response_latency", 300.0, "ok", stream_format=stream_format))
    aggregate.merge_wire(recorder.drain())
    report = build_report(aggregate.snapshot(), Verdict(PASS, 0, ()))
    validate_report(report)
    assert report["run"]["stream_formats"] == {"text": 2, "ai-sdk": 1}
    assert "stream_formats" not in build_report(recorded_snapshot(), Verdict(PASS, 0, ()))["run"]
