"""Budgets on a time window (`after: 6s`) and on one user class (`user: Planner`), local and distributed.

The platform answers intents in 100 ms, five times slower for the first 3 s of load: a budget that
leaves the first 6 s out passes, the same budget on the whole run fails, and the windows' request
counts add up exactly to the run's. Tolerances are generous because the machine is shared.
"""

from __future__ import annotations

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import faults_after, intent_user, run_locust
from tools import free_port

TWO_CLASSES = (
    """
from locust import FastHttpUser, constant, task
from agentload import plugin  # noqa: F401
"""
    + intent_user("Asker", 0.1)
    + """
class Planner(Asker):
    wait_time = constant(0.3)
"""
)
WINDOW_BUDGETS = """
metrics: {intent: duration}
budgets:
  - {metric: intent, stat: p95, threshold: 300ms, after: 6s}
  - {metric: intent, stat: p95, threshold: 300ms}
  - {metric: requests, threshold: 1000000, before: 6s}
  - {metric: requests, threshold: 1000000, after: 6s}
  - {metric: intent, stat: p50, threshold: 300ms, after: 6s, user: Planner}
"""


@pytest.mark.slow
@pytest.mark.parametrize("processes", [0, 2], ids=["local", "processes2"])
def test_an_after_budget_leaves_a_slow_start_out_and_a_user_budget_reads_one_class(
    tmp_path, processes
) -> None:
    """`after: 6s` PASSes where the whole run FAILs; windows and classes each sum exactly to the run."""
    cluster: tuple[str, ...] = ()
    if processes:  # the master on a free port, never Locust's fixed default (other tests run alongside)
        port = str(free_port())
        cluster = ("--processes", str(processes), "--master-port", port, "--master-bind-port", port)
    (tmp_path / "s.py").write_text(TWO_CLASSES)
    (tmp_path / "b.yaml").write_text(WINDOW_BUDGETS)
    with start_platform("--fixed-latency-ms", "intent=100") as platform:
        platform.set_faults(latency_scale=5)
        recovering = faults_after(platform, 3.0, latency_scale=1)
        run = run_locust(
            tmp_path / "s.py", "--host", platform.url, "--budgets", str(tmp_path / "b.yaml"), *cluster,
            "-u", "6", "-r", "6", "-t", "12s", report=tmp_path / "r.json",
        )  # fmt: skip
        recovering.join(timeout=5)
    assert run.returncode == 1, run.output[-3000:]
    validate_report(run.report)
    after, whole, early, late, planner = run.report["budgets"][:5]
    assert (after["status"], whole["status"]) == ("PASS", "FAIL"), run.report["budgets"]
    assert after["observed"] < 300 and whole["observed"] >= 400
    assert after["window"] == {"after_s": 6.0, "before_s": None} and "intent after 6s" in run.stdout
    counters, metrics = run.report["counters"], run.report["metrics"]
    assert early["observed"] + late["observed"] == counters["requests"]
    assert counters["requests{user:Asker}"] + counters["requests{user:Planner}"] == counters["requests"]
    assert metrics["intent{user:Asker}"]["count"] > metrics["intent{user:Planner}"]["count"] > 0
    assert planner["status"] == "PASS" and 0 < planner["samples"] < metrics["intent{user:Planner}"]["count"]
    print(run.stdout)  # the README's console example (pytest -s)
