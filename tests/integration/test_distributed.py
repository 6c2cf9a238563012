"""Master/worker runs: exact merged verdicts, worker loss ending in exit 3, and no hang."""

from __future__ import annotations

import math
import signal
import time

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from cluster_run import LENIENT, Cluster
from locust_run import LOCUSTFILES, run_locust
from tools import FAST, free_port

BROKEN = "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 1ms, min_samples: 1}\n"


def exact_p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


@pytest.mark.slow
def test_master_with_two_workers_merges_exactly(tmp_path) -> None:
    """Merged counts equal the platform's; the merged P95 is the union's P95 within 0.1%."""
    with start_platform() as platform:
        cluster = Cluster(tmp_path, platform.url, LENIENT, workers=2)
        code, output = cluster.wait()
        stats = platform.stats()
    assert code == 0, output[-4000:]
    report = cluster.json()
    validate_report(report)
    served = sum(n for status, n in stats["totals"].items() if status.isdigit())
    assert abs(served - report["counters"]["requests"]) <= stats.get("in_flight", 0) + 20
    latencies = cluster.logged_latencies()
    merged = report["metrics"]["intent_inference_latency"]
    assert merged["count"] == len(latencies)
    assert merged["p95"] == pytest.approx(exact_p95(latencies), rel=0.001)


@pytest.mark.slow
def test_broken_budget_fails_on_the_master(tmp_path) -> None:
    """With a budget broken, the master exits 1 whatever the workers exit with."""
    with start_platform(*FAST) as platform:
        cluster = Cluster(tmp_path, platform.url, BROKEN, workers=2, time_scale="20")
        code, output = cluster.wait()
    assert code == 1, output[-4000:]
    assert cluster.json()["budgets"][0]["status"] == "FAIL"


@pytest.mark.slow
def test_killed_worker_makes_the_run_incomplete(tmp_path) -> None:
    """Kill one worker mid-run: the master finishes, exits 3, and the report names the lost worker."""
    with start_platform(*FAST) as platform:
        cluster = Cluster(tmp_path, platform.url, LENIENT, workers=2, time_scale="10")
        time.sleep(8)  # let the run get going; this is load, not readiness
        cluster.workers[0].send_signal(signal.SIGKILL)
        started = time.monotonic()
        code, output = cluster.wait(timeout=90)
    assert time.monotonic() - started < 60
    assert code == 3, output[-4000:]
    incomplete = cluster.json()["incomplete"]
    assert any(reason.startswith("lost worker ") and " at t=" in reason for reason in incomplete), incomplete


@pytest.mark.slow
def test_master_whose_workers_all_die_does_not_hang(tmp_path) -> None:
    """Kill every worker: the master ends on its own within a bounded time, with exit 3."""
    with start_platform() as platform:
        cluster = Cluster(tmp_path, platform.url, LENIENT, workers=2, time_scale="2")
        time.sleep(6)
        for worker in cluster.workers:
            worker.send_signal(signal.SIGKILL)
        started = time.monotonic()
        code, output = cluster.wait(timeout=90)
    assert time.monotonic() - started < 60, "the master hung after losing all workers"
    assert code == 3, output[-4000:]


@pytest.mark.slow
def test_processes_flag_gives_the_same_verdict(tmp_path) -> None:
    """`--processes 2` merges like master/worker: a broken budget still fails the run."""
    budgets = tmp_path / "broken.yaml"
    budgets.write_text(BROKEN)
    with start_platform(*FAST) as platform:
        run = run_locust(
            LOCUSTFILES / "budgets.py",
            "--processes",
            "2",
            "--host",
            platform.url,
            "--time-scale",
            "20",
            "--budgets",
            str(budgets),
            report=tmp_path / "r.json",
        )
    assert run.returncode == 1, run.output[-4000:]
    assert run.budget("intent_inference_latency")["status"] == "FAIL"
    assert run.report["counters"]["requests"] > 50


SLOW_CHAT = ("--fixed-latency-ms", "intent=20,step=20,chat=3000")
"""Chat answers take 3 s: at the stop, users are mid-request and --stop-timeout lets them finish."""
SLOW_CHAT_BUDGETS = "budgets:\n  - {metric: chat_response_latency, stat: p95, threshold: 5s}\n"


def served_api_requests(stats: dict) -> int:
    """What the platform answered, less the master's health check before the load."""
    return sum(n for endpoint, by_status in stats["requests"].items() if endpoint != "health"
               for n in by_status.values())  # fmt: skip


@pytest.mark.slow
def test_stop_timeout_under_processes_flushes_every_request(tmp_path) -> None:
    """--processes 2 --stop-timeout 10: the final flush completes, complete, merged = served exactly."""
    budgets = tmp_path / "lenient.yaml"
    budgets.write_text(SLOW_CHAT_BUDGETS)
    port = str(free_port())  # the master's port, never Locust's fixed default (others may run)
    with start_platform(*SLOW_CHAT) as platform:
        run = run_locust(
            LOCUSTFILES / "budgets.py", "--processes", "2", "--master-port", port, "--master-bind-port", port,
            "--host", platform.url, "--time-scale", "20", "--stop-timeout", "10",
            "--budgets", str(budgets), report=tmp_path / "r.json",
        )  # fmt: skip
        stats = platform.stats()
    assert run.returncode == 0, run.output[-4000:]
    assert run.report["incomplete"] == [] and "lost the master" not in run.output
    assert stats["in_flight"] == 0
    assert run.report["counters"]["requests"] == served_api_requests(stats)


@pytest.mark.slow
def test_stop_timeout_in_master_worker_runs_flushes_every_request(tmp_path) -> None:
    """Master and two workers with --stop-timeout 10: complete, and merged = served exactly."""
    with start_platform(*SLOW_CHAT) as platform:
        cluster = Cluster(tmp_path, platform.url, SLOW_CHAT_BUDGETS, workers=2, time_scale="20",
                          master_extra=("--stop-timeout", "10"))  # fmt: skip
        code, output = cluster.wait()
        stats = platform.stats()
    assert code == 0, output[-4000:]
    report = cluster.json()
    assert report["incomplete"] == [] and "lost the master" not in output
    assert report["counters"]["requests"] == served_api_requests(stats)
