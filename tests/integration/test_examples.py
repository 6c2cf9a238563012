"""Every locustfile in examples/ runs end to end: PASS with its own budgets, FAIL with an impossible one.

These are the README's "Custom scenarios" examples. Each runs as users run it (a real `locust`
process against the reference platform), once with the example's budgets file and once with a
copy whose latency threshold cannot be met. The pairs run concurrently to keep `make test` short.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from agentload.platform.process import start_platform

from locust_run import ROOT, LocustRun, run_locust

EXAMPLES = ROOT / "examples"
RUNS = {  # example -> how to run it briefly (the README's commands, shortened)
    "custom_scenario": ("-u", "40", "-r", "40", "-t", "9s"),
    "custom_trend": ("-u", "20", "-r", "20", "-t", "9s"),
    "journey": ("-u", "20", "-r", "20", "-t", "9s"),
    "new_endpoint": ("--time-scale", "1.5"),
}
LATENCY_BUDGET = {  # the metric whose threshold the FAIL run makes impossible
    "custom_scenario": "health_latency",
    "custom_trend": "platform_server_time",
    "journey": "book_table",
    "new_endpoint": "tool_catalogue_latency",
}


@pytest.fixture(scope="module")
def platform() -> Iterator[Any]:
    with start_platform("--fixed-latency-ms", "health=2") as running:
        yield running


def impossible(budgets: Path, metric: str, into: Path) -> Path:
    """A copy of `budgets` whose p95 threshold on `metric` is 1 µs."""
    text = budgets.read_text()
    pattern = rf"(- metric: {metric}\b[^\n]*\n    stat: p95\n    threshold: )\S+"
    changed, count = re.subn(pattern, r"\g<1>1us", text)
    assert count == 1, f"{budgets} has no p95 budget on {metric}"
    into.write_text(changed)
    return into


def run_example(name: str, budgets: Path, host: str, report: Path, *extra: str) -> LocustRun:
    args = ("--host", host, "--budgets", str(budgets), *RUNS[name], *extra)
    return run_locust(EXAMPLES / f"{name}.py", *args, report=report, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(RUNS))
def test_example_passes_its_budgets_and_fails_an_impossible_one(name: str, platform: Any, tmp_path) -> None:
    """The example exits 0 with its own budgets and 1 with an impossible latency threshold."""
    budgets = EXAMPLES / f"{name}.yaml"
    broken = impossible(budgets, LATENCY_BUDGET[name], tmp_path / "impossible.yaml")
    with ThreadPoolExecutor(2) as pool:
        passing = pool.submit(run_example, name, budgets, platform.url, tmp_path / "pass.json")
        failing = pool.submit(run_example, name, broken, platform.url, tmp_path / "fail.json")
        passed, failed = passing.result(), failing.result()
    assert passed.returncode == 0, passed.output[-3000:]
    assert passed.report["verdict"] in ("PASS", "WARN")
    assert failed.returncode == 1, failed.output[-3000:]
    assert failed.budget(LATENCY_BUDGET[name])["status"] == "FAIL"


@pytest.mark.slow
def test_plain_requests_count_in_error_rate_and_5xx(tmp_path) -> None:
    """100% 500s: errors named `http 500` in error_rate and http_5xx; FAIL, exit 1, not incomplete."""
    with start_platform("--error-rate", "health=1") as failing:
        budgets, report = EXAMPLES / "custom_scenario.yaml", tmp_path / "r.json"
        run = run_example("custom_scenario", budgets, failing.url, report, "--skip-health-check")
        served = failing.stats()["requests"]["health"]
    assert run.returncode == 1, run.output[-3000:]  # decided: every request failed
    counters, requests = run.report["counters"], sum(served.values())
    assert counters["errors"] == counters["http_5xx"] == counters["requests"] > 0
    assert requests - 40 <= counters["requests"] <= requests
    assert set(run.report["errors"]) <= {"http 500", "http 503"}
    assert run.budget("error_rate")["status"] == "FAIL"
    assert (run.report["verdict"], run.report["incomplete"]) == ("FAIL", [])
    latency = run.budget("health_latency")
    assert latency["status"] == "INCONCLUSIVE"
    assert latency["reason"].startswith("no successful samples to measure (")


@pytest.mark.slow
def test_plain_user_under_two_processes_merges_every_request(platform: Any, tmp_path) -> None:
    """--processes 2: the merged count is what the platform served, less requests cut at the stop.

    Locust kills the requests in flight when a run stops, so neither its table nor ours sees those
    (at most one per user); the master's health pre-check is not a user request either.
    """
    platform.reset_stats()
    budgets = EXAMPLES / "custom_scenario.yaml"
    run = run_example("custom_scenario", budgets, platform.url, tmp_path / "r.json", "--processes", "2")
    served = sum(platform.stats()["requests"]["health"].values()) - 1
    assert run.returncode == 0, run.output[-3000:]
    merged = run.report["counters"]["requests"]
    assert served - 40 <= merged <= served and merged > 300
    assert run.budget("health_latency")["samples"] == merged


def test_typo_in_a_declared_metric_is_exit_2_with_a_suggestion(tmp_path) -> None:
    """A budget on `platform_server_tim` names the file and line and suggests the declared Trend."""
    budgets = (EXAMPLES / "custom_trend.yaml").read_text().replace(
        "metric: platform_server_time", "metric: platform_server_tim"
    )
    (tmp_path / "typo.yaml").write_text(budgets)
    typo = str(tmp_path / "typo.yaml")
    run = run_locust(EXAMPLES / "custom_trend.py", "--budgets", typo, "--skip-health-check", timeout=60)
    assert run.returncode == 2, run.output[-3000:]
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("agentload:")]
    assert "typo.yaml:5: budgets[0].metric:" in line and 'did you mean "platform_server_time"?' in line
    assert "declared: health_latency, platform_server_time, server_timing_present" in line
    assert "Traceback" not in run.output
