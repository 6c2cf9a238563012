"""Master/worker runs: exact merged verdicts, worker loss ending in exit 3, and no hang."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import LOCUSTFILES, ROOT, run_locust

# The budget profile plus a test-only listener that logs every successful intent latency per process,
# so the test can compute the exact P95 of the union of all workers' samples.
SAMPLE_LOGGING_LOCUSTFILE = """
import os
import locust  # noqa: F401
from locust import events
from agentload import plugin  # noqa: F401
from agentload.profiles.catalog import BudgetShape
from agentload.traffic.users import ChatResponse, IntentInference, StepExecution

@events.init.add_listener
def log_samples(environment, **_):
    path = os.environ.get("SAMPLE_LOG_DIR")
    if not path:
        return
    out = open(os.path.join(path, f"{os.getpid()}.log"), "a", buffering=1)

    def on_request(context=None, **_):
        sample = (context or {}).get("agentload")
        if sample is not None and sample.outcome == "ok" and sample.metric == "intent_inference_latency":
            out.write(f"{sample.latency_ms!r}\\n")

    environment.events.request.add_listener(on_request)
"""

LENIENT = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, min_samples: 20}
  - {metric: step_execution_latency, stat: p95, threshold: 2s, min_samples: 10}
  - {metric: chat_response_latency, stat: p95, threshold: 1.5s, min_samples: 20}
  - {metric: error_rate, stat: rate, threshold: 1%, min_samples: 1}
"""
FAST = ("--fixed-latency-ms", "intent=20,step=20,chat=20", "--fixed-ttft-ms", "5")
BROKEN = "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 1ms, min_samples: 1}\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A master and N workers as separate `locust` processes on loopback."""

    def __init__(self, tmp_path: Path, host: str, budgets: str, workers: int, time_scale: str = "10") -> None:
        self.port = free_port()
        self.report = tmp_path / "report.json"
        (tmp_path / "budgets.yaml").write_text(budgets)
        self.locustfile = tmp_path / "budgets_logged.py"
        self.locustfile.write_text(SAMPLE_LOGGING_LOCUSTFILE)
        self.log_dir = tmp_path / "samples"
        self.log_dir.mkdir()
        env = {**os.environ, "SAMPLE_LOG_DIR": str(self.log_dir), "PYTHONUNBUFFERED": "1"}
        base = [sys.executable, "-m", "locust", "-f", str(self.locustfile)]
        self.master = subprocess.Popen(
            [
                *base,
                "--master",
                "--headless",
                "--expect-workers",
                str(workers),
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(self.port),
                "--host",
                host,
                "--time-scale",
                time_scale,
                "--budgets",
                str(tmp_path / "budgets.yaml"),
                "--report-json",
                str(self.report),
                "--only-summary",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        worker_env = {**env, "INTERNAL_SYSTEM_KEY": "test-key"}  # from the environment, not the command line
        self.workers = [
            subprocess.Popen(
                [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(self.port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=worker_env,
                cwd=ROOT,
            )
            for _ in range(workers)
        ]

    def wait(self, timeout: float = 120) -> tuple[int, str]:
        try:
            output, _ = self.master.communicate(timeout=timeout)
        finally:
            for process in [self.master, *self.workers]:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        return self.master.returncode, output

    def logged_latencies(self) -> list[float]:
        return [float(line) for path in self.log_dir.iterdir() for line in path.read_text().split()]

    def json(self) -> dict:
        return json.loads(self.report.read_text())


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
