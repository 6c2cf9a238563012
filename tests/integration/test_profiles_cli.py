"""The shipped profiles from the command line: k6-style -u/-t override, and the web UI class picker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.parse
import urllib.request

from agentload.platform.process import start_platform

from locust_run import LOCUSTFILES, ROOT, locust_command, run_locust
from tools import FAST, free_port, wait_until


def test_load_profile_users_and_duration_override(tmp_path) -> None:
    """`load.py -u 20 -r 20 -t 8s` runs 20 mixed users for 8 s; the unmeasured step budget is skipped."""
    with start_platform(*FAST) as platform:
        run = run_locust(
            LOCUSTFILES / "load.py",
            "--host",
            platform.url,
            "-u",
            "20",
            "-r",
            "20",
            "-t",
            "8s",
            report=tmp_path / "r.json",
            timeout=120,
        )
    assert run.returncode in (0, 1), run.output[-3000:]  # a short run may be INCONCLUSIVE, never incomplete
    assert run.report["incomplete"] == []
    assert run.report["run"]["duration_s"] < 20
    metrics = run.report["metrics"]
    for metric in ("chat_response_latency", "intent_inference_latency", "health_check_latency"):
        assert metrics[metric]["count"] > 0, metric
    assert "step_execution_latency" not in metrics
    assert "step_execution_latency p95: skipped" in run.stdout
    assert [b["metric"] for b in run.report["budgets"]].count("step_execution_latency") == 0


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def answers(url: str) -> bool:
    """True when `url` answers with JSON (False while nothing listens yet)."""
    try:
        return get_json(url) is not None
    except OSError:
        return False


def test_class_picker_keeps_per_scenario_schedules(tmp_path) -> None:
    """In the web UI with --class-picker, picking the budget shape runs its three scenarios on schedule."""
    port = free_port()
    report = tmp_path / "report.json"
    with start_platform(*FAST) as platform:
        locust = subprocess.Popen(
            locust_command(
                f"{LOCUSTFILES / 'budgets.py'},{LOCUSTFILES / 'load.py'}",
                "--class-picker",
                "--web-port",
                str(port),
                "--host",
                platform.url,
                "--time-scale",
                "20",
                "--report-json",
                str(report),
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=dict(os.environ),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: answers(f"{base}/stats/requests"), 30, "the web UI", every=0.2)
            form = [("user_classes", name) for name in ("IntentInference", "StepExecution", "ChatResponse")]
            form += [("shape_class", "BudgetShape"), ("user_count", "1"), ("spawn_rate", "1")]
            request = urllib.request.Request(f"{base}/swarm", data=urllib.parse.urlencode(form).encode())
            with urllib.request.urlopen(request, timeout=10) as response:
                assert json.load(response)["success"]
            user_counts: list[int] = []

            def stopped() -> bool:
                stats = get_json(f"{base}/stats/requests")
                user_counts.append(stats["user_count"])
                return stats["state"] == "stopped"

            wait_until(stopped, 40, "the run to stop", every=0.25)
            peak = max(user_counts)
        finally:
            locust.send_signal(signal.SIGTERM)
            _, stderr = locust.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert 15 <= peak <= 16, peak  # intent 10 + step 5 (+ 1 chat coordinator) at the top of the ramps
    metrics = json.loads(report.read_text())["metrics"]
    for metric in ("intent_inference_latency", "step_execution_latency", "chat_response_latency"):
        assert metrics[metric]["count"] > 0, metric
