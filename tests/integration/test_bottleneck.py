"""Finding the bottleneck end to end: a real platform with one slowed component, real locust runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report
from agentload.traffic.server_timing import parse_server_timing

from locust_run import run_locust
from tools import TRACEBACK, free_port

LOCUSTFILE = """
import locust  # noqa: F401
from locust import constant
from agentload import plugin  # noqa: F401
from agentload.traffic import users

class Intent(users.IntentInference):
    abstract = False
    wait_time = constant(0.02)

class Step(users.StepExecution):
    abstract = False
    wait_time = constant(0.02)
"""
BUDGETS = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 300ms, min_samples: 20}
  - {metric: step_execution_latency, stat: p95, threshold: 250ms, min_samples: 20}
  - {metric: intent_inference_latency.db, stat: p95, threshold: 1s, min_samples: 20}
"""
# 100 ms of service each; intent's llm part (about 80%) x5, step's db part (about 20%) x10
PLATFORM = ("--fixed-latency-ms", "intent=100,step=100", "--component-scale", "intent.llm=5,step.db=10")
USER_HEADERS = {"X-Test-User-Id": "u", "X-Clerk-Id": "c", "Content-Type": "application/json"}
INTENT_BODY = {"messages": [{"role": "user", "content": "book a taxi"}]}


def _run(tmp_path, *args: str):
    (tmp_path / "mix.py").write_text(LOCUSTFILE)
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
    with start_platform(*PLATFORM) as platform:
        return run_locust(
            tmp_path / "mix.py",
            "--host",
            platform.url,
            "-u",
            "6",
            "-r",
            "6",
            "-t",
            "6s",
            "--budgets",
            str(tmp_path / "budgets.yaml"),
            *args,
            report=tmp_path / "report.json",
        )


def _llm_ms(platform) -> float:
    reply = platform.request("POST", "/api/intent", INTENT_BODY, USER_HEADERS)
    assert reply.status == 200
    return parse_server_timing(reply.header("Server-Timing"))["llm"]


def test_component_scale_changes_at_run_time() -> None:
    """POST /_admin/faults {"component_scale": "intent.llm=5"} slows the llm part of the next intents."""
    with start_platform("--fixed-latency-ms", "intent=100") as platform:
        before = _llm_ms(platform)
        platform.set_faults(component_scale="intent.llm=5")
        after = _llm_ms(platform)
        platform.set_faults(component_scale={})
        cleared = _llm_ms(platform)
    assert before < 100 and cleared < 100
    assert after > 250, (before, after)


@pytest.mark.parametrize("spec", ["gpu=2", "llm=fast", "health.llm=2", "llm=0"])
def test_bad_component_scale_is_one_line_exit_2(spec) -> None:
    """`agentload platform --component-scale` with a bad spec: one line quoting it, exit 2, no traceback."""
    command = [sys.executable, "-m", "agentload.platform", "--port", "0", "--component-scale", spec]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "invalid component scale" in done.stderr, done.stderr
    assert TRACEBACK not in done.stderr


@pytest.mark.slow
@pytest.mark.quiet  # a busy machine's loop lag rightly makes these FAILs generator-bound
def test_failing_verdicts_name_the_slowed_component(tmp_path) -> None:
    """intent.llm x5 and step.db x10: each failing budget's explanation names its own slowed part."""
    run = _run(tmp_path)
    assert run.returncode == 1, run.output[-4000:]
    assert TRACEBACK not in run.output
    validate_report(run.report)
    intent, step = run.budget("intent_inference_latency"), run.budget("step_execution_latency")
    assert intent["status"] == step["status"] == "FAIL"
    assert intent["explanation"]["parts"][0]["part"] == "llm"
    assert step["explanation"]["parts"][0]["part"] == "db"
    assert intent["explanation"]["parts"][0]["share"] > 0.8
    assert run.budget("intent_inference_latency.db")["status"] == "PASS"  # a budget on a part works
    for part, metric in (("llm", "intent_inference_latency"), ("db", "step_execution_latency")):
        line = rf"^    where the time went: {part} \d+% .* {metric} requests"
        assert re.search(line, run.stdout, re.MULTILINE), run.stdout[-3000:]
    assert run.stdout.count("    slow request: ") == 6  # three under each failing budget
    assert run.report["metrics"]["intent_inference_latency.llm"]["p95"] > 300
    assert run.report["breakdown"]["step_execution_latency"]["parts"][0]["part"] == "db"
    slowest = run.report["slowest"]["intent_inference_latency"]
    assert len(slowest) == 10 and all(s["worker"] == "local" for s in slowest)
    assert all(re.fullmatch(r"[0-9a-f]{32}", s["trace_id"]) for s in slowest)


@pytest.mark.slow
@pytest.mark.quiet  # a busy machine's loop lag rightly makes these FAILs generator-bound
def test_slowest_requests_merge_exactly_across_processes(tmp_path) -> None:
    """--processes 2: the 10 slowest come from the workers, slowest first, the first being the run's max."""
    port = str(free_port())
    run = _run(tmp_path, "--processes", "2", "--master-port", port, "--master-bind-port", port)
    assert run.returncode == 1, run.output[-4000:]
    validate_report(run.report)
    assert run.budget("intent_inference_latency")["explanation"]["parts"][0]["part"] == "llm"
    for metric in ("intent_inference_latency", "step_execution_latency"):
        slowest = run.report["slowest"][metric]
        latencies = [s["latency_ms"] for s in slowest]
        assert len(slowest) == 10 and latencies == sorted(latencies, reverse=True)
        assert latencies[0] == pytest.approx(run.report["metrics"][metric]["max"], rel=1e-3)
        assert len({s["trace_id"] for s in slowest}) == 10
        assert all(s["worker"] not in ("", "local") for s in slowest)
        assert all("app" in s["server_timing"] for s in slowest)
    assert run.stdout.count("    slow request: ") == 6
