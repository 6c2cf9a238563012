"""The budget gate end to end: real locust runs of locustfiles/budgets.py against the real platform."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import LOCUSTFILES, ROOT, run_locust
from tools import FAST, TRACEBACK

BUDGETS = LOCUSTFILES / "budgets.py"


def in_flight_tolerance(stats: dict) -> int:
    return int(stats.get("in_flight", 0)) + 20  # requests cut at stop are counted by one side only


@pytest.mark.slow
def test_healthy_platform_passes_with_exact_chat_metrics(tmp_path) -> None:
    """A healthy platform passes (exit 0); every chat metric is printed; counts match the platform."""
    report = tmp_path / "report.json"
    with start_platform() as platform:
        run = run_locust(BUDGETS, "--host", platform.url, "--time-scale", "6", report=report)
        stats = platform.stats()
    assert run.returncode == 0, run.output[-4000:]
    assert TRACEBACK not in run.output
    validate_report(run.report)
    assert run.report["verdict"] in ("PASS", "WARN")
    for metric in (
        "intent_inference_latency",
        "step_execution_latency",
        "chat_response_latency",
        "chat_time_to_first_token",
        "chat_inter_token_latency",
        "chat_output_tokens",
        "chat_tokens_per_second",
        "chat_response_latency_scheduled",
    ):
        assert f"{metric}.." in run.stdout, metric
        assert run.report["metrics"][metric]["count"] > 0, metric
    assert re.search(r"^error_rate\.+: 0\.00% \(0/\d+\)$", run.stdout, re.MULTILINE)
    served = sum(n for status, n in stats["totals"].items() if status.isdigit())
    assert abs(served - run.report["counters"]["requests"]) <= in_flight_tolerance(stats)


@pytest.mark.slow
def test_slow_intent_fails_only_intent(tmp_path) -> None:
    """With intent latency x4, exit 1: intent inference FAILs, the other budgets hold."""
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    with start_platform("--latency-scale", "intent=4") as platform:
        run = run_locust(
            BUDGETS, "--host", platform.url, "--time-scale", "6", "--report-junit", str(junit), report=report
        )
    assert run.returncode == 1, run.output[-4000:]
    validate_report(run.report)
    assert run.budget("intent_inference_latency")["status"] == "FAIL"
    for metric in ("step_execution_latency", "chat_response_latency", "error_rate", "http_5xx"):
        assert run.budget(metric)["status"] in ("PASS", "WARN"), metric
    assert any("FAIL" in line and "intent_inference_latency" in line for line in run.stdout.splitlines())
    failures = [
        case for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None
    ]
    assert [case.get("name") for case in failures] == ["intent_inference_latency p95"]


def strict_budgets(tmp_path, threshold: str = "1ms") -> str:
    path = tmp_path / "strict.yaml"
    path.write_text(
        "budgets:\n"
        f"  - {{metric: intent_inference_latency, stat: p95, threshold: {threshold}, min_samples: 1}}\n"
    )
    return str(path)


def test_report_only_prints_fail_but_exits_0(tmp_path) -> None:
    """--report-only keeps the FAIL verdict in the JSON but exits 0, for baselining."""
    report = tmp_path / "report.json"
    with start_platform(
        "--fixed-latency-ms", "intent=20,step=20,chat=20", "--fixed-ttft-ms", "5"
    ) as platform:
        run = run_locust(
            BUDGETS,
            "--host",
            platform.url,
            "--time-scale",
            "20",
            "--budgets",
            strict_budgets(tmp_path),
            "--report-only",
            report=report,
        )
    assert run.returncode == 0, run.output[-4000:]
    assert run.report["verdict"] == "FAIL" and run.report["exit_code"] == 1
    assert "report-only mode" in run.stdout


def test_too_few_samples_is_inconclusive_and_fails(tmp_path) -> None:
    """A 10 s run cannot support a P99 budget: INCONCLUSIVE, exit 1 by default."""
    report = tmp_path / "report.json"
    budgets = tmp_path / "p99.yaml"
    budgets.write_text("budgets:\n  - {metric: intent_inference_latency, stat: p99, threshold: 5s}\n")
    with start_platform(
        "--fixed-latency-ms", "intent=20,step=20,chat=20", "--fixed-ttft-ms", "5"
    ) as platform:
        run = run_locust(
            BUDGETS, "--host", platform.url, "--time-scale", "20", "--budgets", str(budgets), report=report
        )
    assert run.returncode == 1, run.output[-4000:]
    assert run.budget("intent_inference_latency")["status"] == "INCONCLUSIVE"
    assert "368 needed" in run.budget("intent_inference_latency")["message"]


def test_unreadable_budgets_file_exits_2_naming_it(tmp_path) -> None:
    """A missing budgets file is a configuration error: exit 2, one line naming the file, no traceback."""
    missing = tmp_path / "nope.yaml"
    run = run_locust(BUDGETS, "--host", "http://127.0.0.1:9", "--budgets", str(missing))
    assert run.returncode == 2
    assert str(missing) in run.stderr and TRACEBACK not in run.output
    assert len([line for line in run.stderr.splitlines() if "agentload:" in line]) == 1


def test_bad_threshold_names_file_line_and_key(tmp_path) -> None:
    """A bad unit is reported as FILE:LINE: key: expectation (got value), exit 2, before any load."""
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text("budgets:\n  - metric: intent_inference_latency\n    stat: p95\n    threshold: fast\n")
    run = run_locust(BUDGETS, "--host", "http://127.0.0.1:9", "--budgets", str(budgets), cwd=ROOT)
    assert run.returncode == 2
    assert f'{budgets}:4: budgets[0].threshold: must be a duration like 800ms (got "fast")' in run.stderr
    assert TRACEBACK not in run.output


def test_baseline_flags_a_significant_regression_as_a_warning(tmp_path) -> None:
    """A second run 4x slower on intent than its --baseline is a significant regression: WARN, exit 0."""
    budgets = tmp_path / "lenient.yaml"
    budgets.write_text(
        "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 5s, min_samples: 1}\n"
    )
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    args = ("--time-scale", "10", "--budgets", str(budgets))  # >= 72 intent samples: a bounded P95 interval
    with start_platform(*FAST) as platform:
        run_locust(BUDGETS, "--host", platform.url, *args, report=first)
    with start_platform(
        "--fixed-latency-ms", "intent=80,step=20,chat=20", "--fixed-ttft-ms", "5"
    ) as platform:
        run = run_locust(BUDGETS, "--host", platform.url, *args, "--baseline", str(first), report=second)
    assert run.returncode == 0, run.output[-3000:]
    validate_report(run.report)
    assert run.report["metrics"]["intent_inference_latency"]["ci"]["p95"][1] is not None
    intent = next(r for r in run.report["regressions"] if r["metric"] == "intent_inference_latency")
    assert intent["significant"] and intent["change"] > 1.0, intent
    assert run.report["verdict"] == "WARN"


def test_bad_baseline_file_is_a_configuration_error(tmp_path) -> None:
    """--baseline pointing at something that is not a report: exit 2 before any load."""
    not_a_report = tmp_path / "x.json"
    not_a_report.write_text("[1, 2, 3]")
    run = run_locust(BUDGETS, "--host", "http://127.0.0.1:9", "--baseline", str(not_a_report))
    assert run.returncode == 2
    assert f"--baseline {not_a_report}: not an agentload JSON report" in run.stderr


@pytest.mark.slow
def test_chat_keeps_its_arrival_rate_when_the_platform_slows(tmp_path) -> None:
    """With chat 3x slower, the open-model chat scenario still starts 10 iterations/s (105 in 10.5 s)."""
    with start_platform("--latency-scale", "chat=3") as platform:
        run = run_locust(
            BUDGETS,
            "--host",
            platform.url,
            "--time-scale",
            "20",
            "--report-only",
            report=tmp_path / "report.json",
        )
    assert run.returncode == 0, run.output[-3000:]
    counters = run.report["counters"]
    assert counters["iterations"] + counters.get("dropped_iterations", 0) == pytest.approx(105, abs=1)
    assert counters.get("dropped_iterations", 0) == 0
    chat = run.report["metrics"]["chat_response_latency"]
    assert chat["med"] > 900  # the platform really was slower
