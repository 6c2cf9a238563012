"""Capacity at budget end to end: locustfiles/capacity.py against a platform of known capacity."""

from __future__ import annotations

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import LOCUSTFILES, run_locust
from tools import TRACEBACK, free_port

CAPACITY = LOCUSTFILES / "capacity.py"
# 8 slots x 100 ms per intent: the platform serves at most 80 intents/s; above that its queue grows.
PLATFORM = ("--slots", "8", "--fixed-latency-ms", "intent=100")
TRUTH_PER_S = 80.0
BUDGETS = "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 200ms, min_samples: 50}\n"


def _sweep(tmp_path, platform_url: str, *args: str):
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
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
        (
            ("--processes", "2", "--master-port", "{port}", "--master-bind-port", "{port}"),
            "runs in one process",
        ),
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
