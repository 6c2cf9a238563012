"""The Budgets tab's rows, on plain data: what the web UI shows must agree with what the gate decides.

`budget_rows` is pure (no Locust, no Flask), so each column is checked here on snapshots built
from real Histograms; the browser test only checks that the rows reach the page and are coloured.
"""

from __future__ import annotations

from agentload.budgets import FAIL, INCONCLUSIVE, PASS, WARN, evaluate, parse_budgets
from agentload.integrations.webui import STATUS_COLOURS, budget_rows, table_structure
from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Snapshot

BUDGETS = """\
budgets:
  - metric: intent_inference_latency
    stat: p95
    threshold: 800ms
    min_samples: 1
  - metric: step_execution_latency
    stat: p95
    threshold: 1ms
    min_samples: 1
  - metric: chat_response_latency
    stat: p95
    threshold: 1s
    min_samples: 1
  - metric: error_rate
    stat: rate
    threshold: 1%
"""


def histogram(*values: float) -> Histogram:
    result = Histogram()
    for value in values:
        result.record(value)
    return result


def snapshot(histograms: dict[str, Histogram], requests: int = 0, errors: int = 0) -> Snapshot:
    return Snapshot(histograms=histograms, counters={"requests": requests, "errors": errors}, errors={})


def rows_by_metric(cumulative: Snapshot, window: Snapshot) -> dict[str, dict[str, object]]:
    return {row["metric"]: row for row in budget_rows(parse_budgets(BUDGETS), cumulative, window)}


def test_statuses_values_and_samples_follow_the_gate() -> None:
    """Each row carries the gate's status, the formatted value, the threshold and the sample count."""
    cumulative = snapshot(
        {
            "intent_inference_latency": histogram(20, 25, 30),
            "step_execution_latency": histogram(30, 31),
            "chat_response_latency": histogram(950),
        },
        requests=6,
    )
    rows = rows_by_metric(cumulative, snapshot({}))
    intent, step = rows["intent_inference_latency"], rows["step_execution_latency"]
    chat = rows["chat_response_latency"]
    assert (intent["status"], intent["cumulative"], intent["threshold"]) == (PASS, "30ms", "< 800ms")
    assert intent["samples"] == 3
    assert (step["status"], step["cumulative"], step["threshold"]) == (FAIL, "31ms", "< 1ms")
    assert (chat["status"], chat["cumulative"]) == (WARN, "950ms")
    assert rows["error_rate"]["cumulative"] == "0.00%"
    assert rows["error_rate"]["status"] == INCONCLUSIVE  # 6 requests, the rule of three needs 300


def test_window_columns_judge_only_the_recent_snapshot() -> None:
    """The window columns apply the same rules to the window: no samples there reads INCONCLUSIVE."""
    cumulative = snapshot({"intent_inference_latency": histogram(20, 900)}, requests=2)
    window = snapshot({"intent_inference_latency": histogram(20)}, requests=1)
    intent = rows_by_metric(cumulative, window)["intent_inference_latency"]
    assert (intent["status"], intent["window_status"]) == (FAIL, PASS)
    assert (intent["cumulative"], intent["window"]) == ("900ms", "20ms")
    assert (intent["samples"], intent["window_samples"]) == (2, 1)
    step = rows_by_metric(cumulative, window)["step_execution_latency"]
    assert (step["window"], step["window_status"], step["window_samples"]) == ("-", INCONCLUSIVE, 0)


def test_rows_include_the_policy_5xx_budget_in_gate_order() -> None:
    """Rows come in the verdict's order, including the synthetic http_5xx budget of policy.fail_on_5xx."""
    budget_file = parse_budgets(BUDGETS)
    cumulative = Snapshot(histograms={}, counters={"requests": 4, "http_5xx": 1}, errors={})
    rows = budget_rows(budget_file, cumulative, cumulative)
    expected = [result.budget.label for result in evaluate(budget_file, cumulative).results]
    assert [row["budget"] for row in rows] == expected
    assert (rows[-1]["metric"], rows[-1]["threshold"], rows[-1]["status"]) == ("http_5xx", "<= 0", FAIL)


def test_every_row_key_has_a_column_and_every_status_a_colour() -> None:
    """The table structure names every shown key, and each status the rows can hold has a colour."""
    row = rows_by_metric(snapshot({}), snapshot({}))["intent_inference_latency"]
    shown = {column["key"] for column in table_structure()}
    assert shown <= set(row)
    assert set(STATUS_COLOURS) == {PASS, WARN, FAIL, INCONCLUSIVE}
    assert [c["title"] for c in table_structure(10)][6] == "Last 10s"


def test_failing_row_explains_where_the_time_went() -> None:
    """A failing latency budget's Detail names its dominant part and its slowest request's trace id."""
    from agentload.recording.recorder import Aggregate, Recorder
    from agentload.recording.samples import Sample, record_sample

    recorder, aggregate = Recorder(), Aggregate()
    for i in range(50):
        sample = Sample("step_execution_latency", 100.0 + i, "ok", status=200, trace_id=f"t{i}")
        sample.server_timing = {"tool": 90.0 + i, "db": 5.0, "app": 96.0 + i}
        record_sample(recorder, sample)
    aggregate.merge_wire(recorder.drain())
    snapshot = aggregate.snapshot()
    rows = {row["metric"]: row for row in budget_rows(parse_budgets(BUDGETS), snapshot, snapshot)}
    detail = rows["step_execution_latency"]["detail"]
    assert rows["step_execution_latency"]["status"] == FAIL
    assert "where the time went: tool 9" in detail and detail.endswith("slowest: 149ms trace t49")


def test_a_window_budget_row_is_judged_on_its_window() -> None:
    """`after: 10s` in the Budgets tab: its own label, and only the samples recorded after 10 s."""
    from agentload.recording.recorder import Aggregate, Recorder
    from agentload.recording.samples import Sample, record_sample

    recorder, aggregate = Recorder(), Aggregate()
    for slot, latency in ((0.0, 900.0), (10.0, 100.0)):
        recorder.slot = slot
        for _ in range(5):
            record_sample(recorder, Sample("intent_inference_latency", latency, "ok"))
    aggregate.merge_wire(recorder.drain())
    text = "budgets:\n  - {metric: intent_inference_latency, stat: max, threshold: 500ms, after: 10s}\n"
    (row, _) = budget_rows(parse_budgets(text), aggregate.snapshot(), aggregate.window(60.0))
    assert row["budget"] == "intent_inference_latency max after 10s"
    assert (row["status"], row["samples"]) == (PASS, 5)
