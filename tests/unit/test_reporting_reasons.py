"""An INCONCLUSIVE says why in every report, read from the one `BudgetResult.reason` field."""

from __future__ import annotations

import json

from agentload.budgets import INCONCLUSIVE, evaluate, parse_budgets
from agentload.integrations.webui import budget_rows
from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Snapshot
from agentload.reporting import build_junit, build_markdown, build_report, render_summary, validate_report

BUDGETS = """\
budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms}
  - {metric: error_rate, stat: rate, threshold: 1%}
policy: {fail_on_5xx: false}
"""
WHY = "only 40 samples, 72 needed"
ERRORS_WHY = "only 40 samples, 300 needed"


def _undecided_run():
    """40 fast requests: a P95 that could still pass and a clean error rate, both below their minimum."""
    histogram = Histogram()
    for _ in range(40):
        histogram.record(100.0)
    snapshot = Snapshot(
        histograms={"intent_inference_latency": histogram}, counters={"requests": 40}, errors={}
    )
    budget_file = parse_budgets(BUDGETS)
    return budget_file, snapshot, evaluate(budget_file, snapshot)


def test_the_reason_is_a_field_of_the_result() -> None:
    """Both budgets are INCONCLUSIVE and carry their reason in words."""
    _, _, verdict = _undecided_run()
    expected = [(INCONCLUSIVE, WHY), (INCONCLUSIVE, ERRORS_WHY)]
    assert [(r.status, r.reason) for r in verdict.results] == expected


def test_console_markdown_and_junit_print_the_reason() -> None:
    """The console summary, the Markdown summary and the JUnit file each name both reasons."""
    _, snapshot, verdict = _undecided_run()
    texts = {
        "console": render_summary(snapshot, verdict, color=False),
        "markdown": build_markdown(snapshot, verdict),
        "junit": build_junit(verdict, snapshot),
    }
    for name, text in texts.items():
        assert WHY in text and ERRORS_WHY in text, name


def test_json_report_has_the_reason_field_and_validates() -> None:
    """The JSON report's budgets carry `reason` (null once decided) and the report validates."""
    _, snapshot, verdict = _undecided_run()
    report = json.loads(json.dumps(build_report(snapshot, verdict)))
    validate_report(report)
    assert [b["reason"] for b in report["budgets"]] == [WHY, ERRORS_WHY]
    assert all(b["reason"] in b["message"] for b in report["budgets"])


def test_web_ui_rows_show_the_reason() -> None:
    """The Budgets tab's detail column names the reason."""
    budget_file, snapshot, _ = _undecided_run()
    rows = budget_rows(budget_file, snapshot, snapshot)
    assert [row["detail"].rsplit("; ", 1)[-1] for row in rows] == [WHY, ERRORS_WHY]
