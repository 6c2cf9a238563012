"""Markdown job summary: budget table, verdict line, errors table, and GITHUB_STEP_SUMMARY appends."""

from pathlib import Path

from agentload.budgets.model import FAIL, PASS, WARN, Budget, BudgetResult, Verdict
from agentload.recording.recorder import Snapshot
from agentload.reporting import append_step_summary, build_markdown


def snapshot(errors: dict[str, int] | None = None) -> Snapshot:
    return Snapshot(
        histograms={}, counters={"requests": 1000}, errors=errors or {}, meta={"profile": "smoke"}
    )


def sample_verdict() -> Verdict:
    results = (
        BudgetResult(
            Budget("intent_inference_latency", "p95", 800.0), FAIL, 1460.0, 500, 1400.0, 1520.0, True
        ),
        BudgetResult(Budget("error_rate", "rate", 0.01), WARN, 0.0095, 1000),
        BudgetResult(
            Budget("chat_tokens_per_second", "p50", 20.0, comparison=">"), PASS, 35.5, 400, 34.0, None
        ),
    )
    return Verdict(FAIL, 1, results, incomplete=("lost worker w1",))


def table_rows(markdown: str, header: str) -> list[list[str]]:
    lines = markdown.splitlines()
    start = lines.index(header)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_budget_table_rows() -> None:
    """One row per budget: metric, stat, observed, CI, threshold, status with icon and marginal flag."""
    markdown = build_markdown(snapshot(), sample_verdict())
    rows = table_rows(markdown, "| metric | stat | observed | 95% CI | threshold | status |")
    assert rows == [
        ["intent_inference_latency", "p95", "1.46s", "[1.4s, 1.52s]", "< 800ms", "❌ FAIL (marginal)"],
        ["error_rate", "rate", "0.95%", "-", "< 1.00%", "⚠️ WARN"],
        ["chat_tokens_per_second", "p50", "35.5", "[34, +inf]", "> 20", "✅ PASS"],
    ]


def test_verdict_heading_and_incomplete() -> None:
    """The summary starts with the profile and verdict and lists why the run is incomplete."""
    markdown = build_markdown(snapshot(), sample_verdict())
    assert markdown.startswith("## agentload (smoke): ❌ FAIL\n\n**Verdict: FAIL** (exit 1)\n")
    assert "- ⚠️ incomplete: lost worker w1" in markdown


def test_errors_table_escapes_pipes() -> None:
    """Failures are tabled by count with their share of requests, and a | in a name cannot break the table."""
    markdown = build_markdown(snapshot({"timeout": 5, "weird|name": 2}), sample_verdict())
    rows = table_rows(markdown, "| failure | count | % of requests |")
    assert rows == [["`timeout`", "5", "0.50%"], ["`weird\\|name`", "2", "0.20%"]]


def test_no_errors_no_errors_table() -> None:
    """Without failures there is no errors section."""
    assert "### Errors" not in build_markdown(snapshot(), Verdict(PASS, 0, ()))


def test_append_step_summary_appends(tmp_path: Path) -> None:
    """With GITHUB_STEP_SUMMARY set, the summary is appended after what earlier steps wrote."""
    target = tmp_path / "summary.md"
    target.write_text("earlier step\n", encoding="utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(target)}
    first = build_markdown(snapshot(), sample_verdict())
    assert append_step_summary(first, env=env) == target
    append_step_summary("second", env=env)
    assert target.read_text(encoding="utf-8") == f"earlier step\n\n{first}\nsecond\n"


def test_append_step_summary_without_env_does_nothing(tmp_path: Path) -> None:
    """Without GITHUB_STEP_SUMMARY (or with it empty) nothing is written and None is returned."""
    assert append_step_summary("x", env={}) is None
    assert append_step_summary("x", env={"GITHUB_STEP_SUMMARY": ""}) is None
    assert list(tmp_path.iterdir()) == []


def test_markdown_explains_failures_and_lists_slowest_requests() -> None:
    """A failing budget's explanation and every kept slow request (trace id, Server-Timing) are listed."""
    from agentload.budgets import evaluate
    from agentload.budgets.model import BudgetFile, Policy
    from agentload.recording.recorder import Aggregate, Recorder
    from agentload.recording.samples import Sample, record_sample

    recorder, aggregate = Recorder(), Aggregate()
    for i in range(100):
        timing = {"llm": 10.0 * i, "db": 5.0, "app": 10.0 * i + 5}
        sample = Sample("intent_inference_latency", 10.0 * i + 6, "ok", status=200, server_timing=timing)
        sample.trace_id, sample.started_at = f"trace{i:02d}", 1.7e9
        record_sample(recorder, sample)
    aggregate.merge_wire(recorder.drain())
    snap = aggregate.snapshot()
    file = BudgetFile(
        budgets=(Budget("intent_inference_latency", "p95", 500.0),), policy=Policy(fail_on_5xx=False)
    )
    markdown = build_markdown(snap, evaluate(file, snap))
    assert "- where the time went, `intent_inference_latency p95`: llm 9" in markdown
    rows = table_rows(
        markdown, "| metric | latency | trace id | started (UTC) | status | worker | Server-Timing |"
    )
    assert [row[2] for row in rows] == [f"`trace{i:02d}`" for i in range(99, 89, -1)]
    assert rows[0][6] == "llm 990ms, db 5ms, app 995ms"
