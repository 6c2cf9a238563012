"""A master and N workers as separate `locust` processes on loopback, for the distributed tests.

Every process writes its output to its own file in the test's folder (a pipe nobody reads can fill
and stall a process). The locustfile is the budget profile plus a test-only listener that logs, per
process, every successful intent latency (so a test can compute the exact P95 of the union of all
workers' samples) and the wall-clock start of every request (so a test can tell when a given worker
last started one).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path

from locust_run import start_locust
from tools import FAST, free_port, wait_until

__all__ = ["FAST", "LENIENT", "Cluster", "wait_until"]  # FAST and wait_until live in tools.py

# Budgets that a short run against a fast platform passes.
LENIENT = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, min_samples: 20}
  - {metric: step_execution_latency, stat: p95, threshold: 2s, min_samples: 10}
  - {metric: chat_response_latency, stat: p95, threshold: 1.5s, min_samples: 20}
  - {metric: error_rate, stat: rate, threshold: 1%, min_samples: 1}
"""
LOGGING_LOCUSTFILE = """
import os
import time
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
    starts = open(os.path.join(path, f"{os.getpid()}.starts"), "a", buffering=1)

    def on_request(context=None, response_time=0, **_):
        starts.write(f"{time.time() - (response_time or 0) / 1000!r}\\n")
        sample = (context or {}).get("agentload")
        if sample is not None and sample.outcome == "ok" and sample.metric == "intent_inference_latency":
            out.write(f"{sample.latency_ms!r}\\n")

    environment.events.request.add_listener(on_request)
"""



class Cluster:
    """A master and N workers; `env` goes to every process, `worker_env` to the workers only."""

    def __init__(
        self,
        tmp_path: Path,
        host: str,
        budgets: str,
        workers: int,
        time_scale: str = "10",
        env: dict[str, str] | None = None,
        worker_env: dict[str, str] | None = None,
        master_extra: tuple[str, ...] = (),
    ) -> None:
        self.dir = tmp_path
        self.port = free_port()
        self.report = tmp_path / "report.json"
        (tmp_path / "budgets.yaml").write_text(budgets)
        self.locustfile = tmp_path / "budgets_logged.py"
        self.locustfile.write_text(LOGGING_LOCUSTFILE)
        self.log_dir = tmp_path / "samples"
        self.log_dir.mkdir()
        self.env = {"SAMPLE_LOG_DIR": str(self.log_dir), **(env or {})}
        master_args = ["--master", "--headless", "--expect-workers", str(workers)]
        master_args += ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(self.port)]
        master_args += ["--host", host, "--time-scale", time_scale]
        master_args += ["--budgets", str(tmp_path / "budgets.yaml")]
        master_args += ["--report-json", str(self.report), "--only-summary", *master_extra]
        self.master = self._start("master", master_args, self.env)
        # The internal key comes from the environment, never the command line.
        self.names: dict[int, str] = {}
        self.worker_env = {**self.env, "INTERNAL_SYSTEM_KEY": "test-key", **(worker_env or {})}
        self.workers = [self.add_worker() for _ in range(workers)]

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        return start_locust(self.locustfile, *args, log=self.dir / f"{name}.out", env=env)

    def add_worker(self, env: dict[str, str] | None = None) -> subprocess.Popen:
        """One more worker process (`env` on top of the workers' environment)."""
        name = f"worker-{len(self.names)}"
        args = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(self.port)]
        process = self._start(name, args, {**self.worker_env, **(env or {})})
        self.names[process.pid] = name
        return process

    def output(self, process: subprocess.Popen) -> str:
        """Everything the process printed so far."""
        name = self.names.get(process.pid, "master")
        return (self.dir / f"{name}.out").read_text(errors="replace")

    def wait(self, timeout: float = 120, workers_grace: float = 15) -> tuple[int, str]:
        """Wait for the master, then (bounded) for the workers it told to quit; kill what is left."""
        try:
            self.master.wait(timeout=timeout)
            deadline = time.monotonic() + workers_grace
            for worker in self.workers:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            self.stop()
        return self.master.returncode, self.output(self.master)

    def stop(self) -> None:
        """Kill what is still running (a master past its timeout, a worker past its grace): no grace left."""
        for process in [self.master, *self.workers]:
            if process.poll() is None:
                process.kill()
                process.wait()

    def logged_latencies(self) -> list[float]:
        return [float(line) for path in self.log_dir.glob("*.log") for line in path.read_text().split()]

    def request_starts(self, process: subprocess.Popen) -> list[float]:
        """Wall-clock start of every request the process completed (ok or not)."""
        path = self.log_dir / f"{process.pid}.starts"
        return [float(line) for line in path.read_text().split()] if path.exists() else []

    def json(self) -> dict:
        return json.loads(self.report.read_text())

