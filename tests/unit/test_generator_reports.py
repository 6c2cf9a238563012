"""Every report shows the generator's health, when it was fine and when it was the bottleneck.

The snapshot is merged from real `Recorder`s (two workers' probes plus TTFT samples); the verdict
comes from the real `evaluate`; each reporter renders it as it would at the end of a run.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from agentload.budgets import Budget, BudgetFile, evaluate
from agentload.integrations.influx_points import GENERATOR, IntervalAggregator, RunTags
from agentload.integrations.webui import generator_row
from agentload.recording import generator
from agentload.recording.recorder import Aggregate, Recorder, Snapshot
from agentload.reporting import build_junit, build_markdown, build_report, render_summary, validate_report

TTFT = "chat_time_to_first_token"
BUDGETS = BudgetFile(budgets=(Budget(metric=TTFT, stat="p95", threshold=1100.0, min_samples=1),))


def snapshot(ttft_ms: float, worst_lag_ms: float) -> Snapshot:
    """Workers w1 (2 ms lag, 30% CPU) and w2 (`worst_lag_ms`, 95% CPU), plus 100 TTFTs of `ttft_ms`."""
    aggregate = Aggregate()
    for source, lag, cpu in (("w1", 2.0, 30.0), ("w2", worst_lag_ms, 95.0)):
        recorder = Recorder(source=source)
        for index in range(50):
            generator.record(recorder, generator.LOOP_LAG, lag)
            recorder.observe(TTFT, 900.0 if index < 2 else ttft_ms)  # a few undelayed ones
        generator.record(recorder, generator.CPU, cpu)
        aggregate.merge_wire(recorder.drain())
    return aggregate.snapshot()


def test_healthy_run_shows_one_health_line_everywhere() -> None:
    """A fine generator is still reported: console, Markdown, JUnit and JSON carry the same line."""
    healthy = snapshot(900.0, 4.0)
    verdict = evaluate(BUDGETS, healthy)
    line = "generator: w2: loop lag p99 4 ms, CPU max 95%; w1: loop lag p99 2 ms, CPU max 30%"
    assert generator.health_line(healthy.histograms) == line
    assert line in render_summary(healthy, verdict, color=False).splitlines()
    assert f"- {line}" in build_markdown(healthy, verdict)
    properties = {
        p.get("name"): p.get("value") for p in ET.fromstring(build_junit(verdict, healthy)).iter("property")
    }
    assert properties["generator"] == line
    report = build_report(healthy, verdict)
    validate_report(report)
    assert report["generator"]["line"] == line and report["generator"]["bound"] is False
    assert [p["source"] for p in report["generator"]["processes"]] == ["w2", "w1"]
    assert report["generator"]["processes"][0]["cpu_max_percent"] == 95.0


def test_generator_bound_run_names_the_process_in_every_report() -> None:
    """A FAIL the lag explains: the console's incomplete line, JSON and Markdown name w2 as the bottleneck."""
    bound = snapshot(3000.0, 400.0)
    verdict = evaluate(BUDGETS, bound)
    console = render_summary(bound, verdict, color=False)
    assert (
        "incomplete: generator-bound: the load generator was the bottleneck (w2: loop lag p99 400 ms"
        in console
    )
    assert "verdict: INCONCLUSIVE (exit 3)" in console
    report = build_report(bound, verdict)
    validate_report(report)
    assert report["generator"]["bound"] is True and report["budgets"][0]["generator_bound"] is True
    assert report["exit_code"] == 3 and report["incomplete"][0].startswith("generator-bound: ")
    assert "(generator-bound)" in build_markdown(bound, verdict)


def test_web_ui_row_shows_the_worst_lag_now_and_in_the_window() -> None:
    """The Budgets tab's generator row: worst lag P99 cumulative and in the window, the line as detail."""
    row = generator_row(snapshot(900.0, 400.0), snapshot(900.0, 3.0))
    assert (row["cumulative"], row["window"]) == ("400ms", "3ms")
    assert row["detail"].startswith("generator: w2: loop lag p99 400 ms")


def test_influx_writes_one_generator_point_per_interval() -> None:
    """Probe values become one agentload_generator point per drain: lag P99 and max, CPU max."""
    aggregator = IntervalAggregator()
    for lag in (1.0, 2.0, 50.0):
        aggregator.add_generator(generator.LOOP_LAG, lag)
    aggregator.add_generator(generator.CPU, 87.5)
    lines = [
        line
        for line in aggregator.drain(RunTags("r", "p", "w1"), 1_000, 1.0, None)
        if line.startswith(GENERATOR)
    ]
    assert lines == [
        "agentload_generator,profile=p,run_id=r,worker=w1 loop_lag_ms_p99=50.0,loop_lag_ms_max=50.0,"
        "cpu_percent_max=87.5 1000"
    ]
    assert not aggregator.drain(RunTags("r", "p", "w1"), 2_000, 1.0, None)
