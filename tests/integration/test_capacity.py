"""Capacity at budget end to end: locustfiles/capacity.py against a platform of known capacity."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import LOCUSTFILES, ROOT, run_locust
from tools import TRACEBACK, free_port

CAPACITY = LOCUSTFILES / "capacity.py"
# 8 slots x 100 ms per intent: the platform serves at most 80 intents/s; above that its queue grows.
PLATFORM = ("--slots", "8", "--fixed-latency-ms", "intent=100")
TRUTH_PER_S = 80.0
BUDGETS = "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 200ms, min_samples: 50}\n"


def _sweep(tmp_path, platform_url: str, *args: str, budgets: str = BUDGETS):
    (tmp_path / "budgets.yaml").write_text(budgets)
    return run_locust(
        CAPACITY,
        "--host",
        platform_url,
        "--budgets",
        str(tmp_path / "budgets.yaml"),
        "--capacity-scenario",
        "intent",
        "--time-scale",
        "5",
        *args,
        report=tmp_path / "report.json",
        timeout=180,
    )


@pytest.mark.slow
def test_capacity_is_found_within_ten_percent_of_the_truth(tmp_path) -> None:
    """8 slots x 100 ms: capacity within 10% of 80/s; below a 100/s target the exit code is 1."""
    with start_platform(*PLATFORM) as platform:
        run = _sweep(tmp_path, platform.url, "--capacity-start", "40", "--capacity-target", "100")
    assert TRACEBACK not in run.output
    assert run.returncode == 1, run.output[-4000:]
    validate_report(run.report)
    capacity = run.report["capacity"]
    assert abs(capacity["max_rate_per_s"] - TRUTH_PER_S) <= 0.1 * TRUTH_PER_S, capacity["summary"]
    assert capacity["broke_at_per_s"] > capacity["max_rate_per_s"]
    assert capacity["broken_budget"] == "intent_inference_latency p95"
    assert capacity["broken_observed"] >= 200
    assert 0.8 * capacity["max_rate_per_s"] <= capacity["goodput_per_s"] <= capacity["max_rate_per_s"] * 1.05
    rates = [step["rate_per_s"] for step in capacity["steps"]]
    assert rates[:3] == [40, 80, 160]  # the coarse ramp, then bisection
    assert f"capacity: {capacity['max_rate_per_s']:g}/s (target 100/s) (exit 1)" in run.stdout
    assert "capacity sweep:" in run.stdout and "BROKE intent_inference_latency p95" in run.stdout
    assert "budgets over the whole sweep, broken steps included:" in run.stdout
    assert "\nverdict:" not in run.stdout  # the budget table's status is not the run's verdict
    assert run.report["exit_code"] == 1


def _two_processes() -> tuple[str, ...]:
    port = str(free_port())  # the master's port, never Locust's fixed default
    return ("--processes", "2", "--master-port", port, "--master-bind-port", port)


@pytest.mark.slow
def test_capacity_under_two_processes_is_found_within_ten_percent(tmp_path) -> None:
    """--processes 2: the master paces both workers at once and judges merged steps; 80/s within 10%."""
    with start_platform(*PLATFORM) as platform:
        run = _sweep(tmp_path, platform.url, "--capacity-start", "40", *_two_processes())
    assert TRACEBACK not in run.output
    assert run.returncode == 0, run.output[-4000:]
    validate_report(run.report)
    capacity = run.report["capacity"]
    assert abs(capacity["max_rate_per_s"] - TRUTH_PER_S) <= 0.1 * TRUTH_PER_S, capacity["summary"]
    workers = {e["worker"] for e in run.report["slowest"]["intent_inference_latency"]}
    assert len(workers) == 2 and "local" not in workers, workers  # both workers' samples were merged
    first = capacity["steps"][0]
    assert first["rate_per_s"] == 40 and 0.9 * 40 <= first["achieved_per_s"] <= 40 * 1.05, first


@pytest.mark.slow
def test_capacity_at_time_scale_4_with_a_one_percent_error_budget(tmp_path) -> None:
    """A 1% error budget needs 300 requests a step: steps last that long at --time-scale 4, 80/s found."""
    budgets = BUDGETS + "  - {metric: error_rate, stat: rate, threshold: 1%}\n"
    with start_platform(*PLATFORM) as platform:
        run = _sweep(tmp_path, platform.url, "--capacity-start", "40", "--time-scale", "4", budgets=budgets)
    assert TRACEBACK not in run.output
    assert run.returncode == 0, run.output[-4000:]
    validate_report(run.report)
    capacity = run.report["capacity"]
    assert abs(capacity["max_rate_per_s"] - TRUTH_PER_S) <= 0.1 * TRUTH_PER_S, capacity["summary"]
    for step in capacity["steps"]:
        assert step["seconds"] >= step["needed_s"] == pytest.approx(300 / step["rate_per_s"]), step
        assert step["held"] or step["broken"], step
    assert "rate = 0" not in run.stdout and "NEEDED" in run.stdout


@pytest.fixture(scope="module")
def nginx_50ms() -> Iterator[str]:
    """nginx with the echo module answering /api/intent after exactly 50 ms (benchmarks/target.py)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from target import Plan, missing, nginx_target

    problem = missing() or (None if shutil.which("nginx") else "nginx is not installed")
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    with nginx_target(None, Plan(intent_ms=50)) as target:
        yield target.url


@pytest.mark.slow
def test_a_target_faster_than_the_generator_ends_the_sweep_at_the_generators_limit(
    tmp_path, nginx_50ms: str
) -> None:
    """Against nginx at 50 ms one process falls behind first: the sweep says so and exits 3."""
    run = _sweep(tmp_path, nginx_50ms, "--capacity-start", "1000", "--skip-health-check")
    assert TRACEBACK not in run.output
    assert run.returncode == 3, run.output[-4000:]
    validate_report(run.report)
    capacity = run.report["capacity"]
    assert capacity["generator_limit_per_s"] is not None and capacity["exit_code"] == 3
    assert "the generator fell behind its schedule" in capacity["generator_why"]
    assert capacity["broke_at_per_s"] is None  # nothing is blamed on the platform
    assert "the generator's limit, not the platform's (exit 3)" in run.stdout


@pytest.mark.slow
def test_first_step_broken_is_exit_3(tmp_path) -> None:
    """Starting far above the capacity: no rate held, exit 3, the JSON says so."""
    with start_platform(*PLATFORM) as platform:
        run = _sweep(tmp_path, platform.url, "--capacity-start", "400")
    assert run.returncode == 3, run.output[-4000:]
    validate_report(run.report)
    assert run.report["capacity"]["max_rate_per_s"] is None
    assert run.report["capacity"]["broke_at_per_s"] == 400
    assert "even the first step (400/s) broke" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--capacity-scenario", "mix"), "--capacity-scenario: must be one of"),
        (("--capacity-target", "lots"), "--capacity-target: must be a number greater than 0 (got 'lots')"),
    ],
)
def test_bad_capacity_options_are_one_line_exit_2(tmp_path, args, message) -> None:
    """A bad capacity option: one line naming it, exit 2, no traceback, no load."""
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
    port = str(free_port())  # --processes: the master's port, never Locust's fixed default
    args = tuple(arg.replace("{port}", port) for arg in args)
    run = run_locust(
        CAPACITY, "--host", "http://127.0.0.1:9", "--budgets", str(tmp_path / "budgets.yaml"), *args
    )
    assert run.returncode == 2, run.output[-3000:]
    assert message in run.stderr
    assert TRACEBACK not in run.output
