"""Fault matrix: real `locust` runs against the reference platform, each fault injected mid-run.

Every run must end on its own (the subprocess timeout is the deadline, so a hang fails the test),
without a traceback, with the exit code its verdict implies and a JSON report that validates. The
suite's request count is checked against the platform's own accounting (`GET /_admin/stats`):
requests answered with a status, plus `stalled` and `reset` (which get no status; a truncated answer
is counted as 200 *and* `truncated`, so it is already in). The platform also counts the health
pre-check, and requests cut off when Locust stops users are seen by the platform only, hence a
tolerance of the users in flight at the stop.

Faults are injected by a background thread that polls the platform until it has served some requests
(a deadline, no fixed sleeps), then calls `POST /_admin/faults` (or kills the platform).
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentload.platform.process import PlatformProcess, start_platform, stop_process
from agentload.reporting import validate_report

from locust_run import LOCUSTFILES, ROOT, LocustRun, locust_command, locust_env, run_locust
from tools import FAST, TRACEBACK, free_port, wait_until

BUDGETS = LOCUSTFILES / "budgets.py"
STRESS = LOCUSTFILES / "stress.py"
QUICK = ("--time-scale", "20")  # the budget profile in 10.5 s
PRECHECK = 1  # GET /api/health of the pre-check: counted by the platform, not a load request
IN_FLIGHT_AT_STOP = 25  # the budget profile has at most ~20 requests in flight when it stops

# The shipped budgets with small min_samples, so a 10 s run gets PASS/FAIL rather than INCONCLUSIVE.
GATE = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, min_samples: 10}
  - {metric: step_execution_latency, stat: p95, threshold: 2s, min_samples: 5}
  - {metric: chat_response_latency, stat: p95, threshold: 1.5s, min_samples: 10}
  - {metric: chat_time_to_first_token, stat: p95, threshold: 500ms, min_samples: 10}
  - {metric: error_rate, stat: rate, threshold: 1%, min_samples: 1}
  - {metric: http_5xx, stat: count, threshold: 0}
"""
# The stress mix sends no steps: a step budget would make every stress run incomplete (exit 3).
STRESS_GATE = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, min_samples: 10}
  - {metric: chat_response_latency, stat: p95, threshold: 1.5s, min_samples: 10}
  - {metric: chat_time_to_first_token, stat: p95, threshold: 500ms, min_samples: 10}
  - {metric: error_rate, stat: rate, threshold: 1%, min_samples: 1}
"""


def budgets_file(tmp_path: Path, text: str = GATE) -> str:
    path = tmp_path / "budgets.yaml"
    path.write_text(text)
    return str(path)


def served(stats: dict[str, Any]) -> int:
    """Load requests the platform answered (statuses, stalls, resets), the pre-check excluded."""
    totals = stats["totals"]
    answered = sum(n for key, n in totals.items() if key.isdigit())
    return answered + totals.get("stalled", 0) + totals.get("reset", 0) - PRECHECK


def api_requests(stats: dict[str, Any]) -> int:
    return sum(stats["totals"].values())


class Injector(threading.Thread):
    """Once the platform has seen `after` requests (polled, with a deadline), run `action(platform)`."""

    def __init__(
        self, platform: PlatformProcess, action: Callable[[PlatformProcess], Any], after: int = 20
    ) -> None:
        super().__init__(daemon=True)
        self.platform, self.action, self.after = platform, action, after
        self.fired_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            wait_until(
                lambda: api_requests(self.platform.stats()) >= self.after,
                60, f"the platform to see {self.after} requests", every=0.05,
            )  # fmt: skip
            self.fired_at = time.monotonic()
            self.action(self.platform)
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        self.join(60)
        assert not self.is_alive(), "fault injector still running"
        assert self.error is None, repr(self.error)
        assert self.fired_at is not None, "the fault was never injected"


def run_with_fault(
    tmp_path: Path,
    platform: PlatformProcess,
    action: Callable[[PlatformProcess], Any],
    *args: str,
    locustfile: Path = BUDGETS,
    after: int = 20,
) -> LocustRun:
    """A locust run against `platform` with `action` injected mid-run; checks what every run must."""
    injector = Injector(platform, action, after)
    injector.start()
    run = run_locust(locustfile, "--host", platform.url, *args, report=tmp_path / "report.json", timeout=150)
    injector.finish()
    check_clean(run)
    return run


def check_clean(run: LocustRun) -> None:
    assert TRACEBACK not in run.output, run.output[-4000:]
    assert run.report is not None, run.output[-4000:]
    validate_report(run.report)
    assert run.report["exit_code"] == run.returncode, run.output[-3000:]


def check_counts(run: LocustRun, stats: dict[str, Any], extra: int = 0) -> None:
    """The suite counted what the platform served, up to the requests in flight at the stop."""
    ours, theirs = run.report["counters"]["requests"], served(stats)
    assert abs(theirs - ours) <= IN_FLIGHT_AT_STOP + extra, (ours, stats)



def test_connection_refused_from_start(tmp_path) -> None:
    """A closed port: exit 3 with one reachability line naming the URL and "connection refused"."""
    url = f"http://127.0.0.1:{free_port()}"
    run = run_locust(BUDGETS, "--host", url, *QUICK, report=tmp_path / "report.json", timeout=60)
    assert run.returncode == 3, run.output[-3000:]
    check_clean(run)
    lines = [line for line in run.stderr.splitlines() if line.startswith("agentload:")]
    assert len(lines) == 1, run.stderr[-3000:]
    assert f"{url}/api/health" in lines[0] and "connection refused" in lines[0]
    assert any("connection refused" in reason for reason in run.report["incomplete"])
    assert run.report["counters"].get("requests", 0) == 0


def test_platform_killed_mid_run(tmp_path) -> None:
    """SIGKILL of the platform mid-run: the run completes, failures are refused/reset, exit 1.

    A chat stream that was mid-body at the kill is a `truncated stream`: the body ended early.
    """
    seen: dict[str, Any] = {}

    def kill(platform: PlatformProcess) -> None:
        seen.update(platform.stats())
        platform.process.kill()

    with start_platform(*FAST) as platform:
        run = run_with_fault(tmp_path, platform, kill, *QUICK, "--budgets", budgets_file(tmp_path), after=60)
    assert run.returncode == 1, run.output[-3000:]
    errors = run.report["errors"]
    assert errors and set(errors) <= {"connection refused", "connection reset", "truncated stream"}, errors
    assert run.budget("error_rate")["status"] == "FAIL"
    # Requests the platform answered before it died = the suite's requests that did not fail.
    answered = run.report["counters"]["requests"] - sum(errors.values())
    assert abs(answered - served(seen)) <= IN_FLIGHT_AT_STOP, (answered, seen)


def test_5xx_burst_fails_error_rate_and_5xx(tmp_path) -> None:
    """100% 5xx for 10 s, then healthy again: 5xx counted by name, error-rate and 5xx budgets FAIL."""

    def burst(platform: PlatformProcess) -> None:
        platform.set_faults(error_rate=1.0)
        time.sleep(10)  # the length of the outage, not a wait for readiness
        platform.set_faults(error_rate=0)

    with start_platform(*FAST) as platform:
        run = run_with_fault(
            tmp_path, platform, burst, "--time-scale", "10", "--budgets", budgets_file(tmp_path)
        )
        stats = platform.stats()
    assert run.returncode == 1, run.output[-3000:]
    errors = run.report["errors"]
    assert set(errors) == {"http 500", "http 503"}, errors
    assert errors["http 500"] == stats["totals"]["500"] and errors["http 503"] == stats["totals"]["503"]
    assert run.report["counters"]["http_5xx"] == errors["http 500"] + errors["http 503"]
    assert run.budget("error_rate")["status"] == "FAIL"
    assert run.budget("http_5xx")["status"] == "FAIL"
    assert run.budget("intent_inference_latency")["status"] in ("PASS", "WARN")
    check_counts(run, stats)


def test_stalls_become_timeouts_without_polluting_latency(tmp_path) -> None:
    """Stalled intents end as "timeout" at --request-timeout 2s; no hang; the intent P95 stays tiny."""
    with start_platform(*FAST) as platform:
        started = time.monotonic()
        run = run_with_fault(
            tmp_path,
            platform,
            lambda p: p.set_faults(stall_rate={"intent": 0.3}),
            *QUICK,
            "--request-timeout",
            "2s",
            "--budgets",
            budgets_file(tmp_path),
        )
        elapsed = time.monotonic() - started
        stats = platform.stats()
    assert run.returncode == 1, run.output[-3000:]
    assert elapsed < 60, f"a 10.5 s profile took {elapsed:.0f} s"
    errors = run.report["errors"]
    assert set(errors) == {"timeout"}, errors
    stalled = stats["requests"]["intent"]["stalled"]
    assert errors["timeout"] <= stalled <= errors["timeout"] + 10, (errors, stats)
    intent = run.report["metrics"]["intent_inference_latency"]
    assert intent["count"] > 10 and intent["max"] < 500, intent  # no 2000 ms timeouts in there
    assert run.budget("intent_inference_latency")["status"] == "PASS"
    check_counts(run, stats)


def test_truncated_chat_streams_keep_ttft(tmp_path) -> None:
    """Every chat stream cut short: "truncated stream" errors, TTFT still recorded for them."""
    with start_platform(*FAST) as platform:
        run = run_with_fault(
            tmp_path,
            platform,
            lambda p: p.set_faults(truncate_rate={"chat": 1.0}),
            *QUICK,
            "--budgets",
            budgets_file(tmp_path),
        )
        stats = platform.stats()
    assert run.returncode == 1, run.output[-3000:]
    errors = run.report["errors"]
    assert set(errors) == {"truncated stream"}, errors
    assert abs(errors["truncated stream"] - stats["requests"]["chat"]["truncated"]) <= 10, (errors, stats)
    metrics = run.report["metrics"]
    complete_chats = metrics.get("chat_response_latency", {}).get("count", 0)
    assert metrics["chat_time_to_first_token"]["count"] > complete_chats  # truncated ones have a TTFT
    check_counts(run, stats)


def test_connection_resets_are_named(tmp_path) -> None:
    """30% of connections reset by the platform: "connection reset" errors, one per platform reset."""
    with start_platform(*FAST) as platform:
        run = run_with_fault(
            tmp_path,
            platform,
            lambda p: p.set_faults(reset_rate=0.3),
            *QUICK,
            "--budgets",
            budgets_file(tmp_path),
        )
        stats = platform.stats()
    assert run.returncode == 1, run.output[-3000:]
    errors = run.report["errors"]
    assert set(errors) == {"connection reset"}, errors
    assert abs(errors["connection reset"] - stats["totals"]["reset"]) <= 10, (errors, stats)
    check_counts(run, stats)


@pytest.mark.parametrize(("mode", "graceful"), [("shed", True), ("error", False), ("queue", False)])
def test_overload_breaking_point(tmp_path, mode: str, graceful: bool) -> None:
    """Stress over 1 slot + 1 queued: shedding (429) is graceful; 500s or an unbounded queue are not."""
    platform_args = ("--fixed-latency-ms", "intent=50,step=50,chat=50", "--fixed-ttft-ms", "10")
    with start_platform(*platform_args, "--slots", "1", "--queue", "1") as platform:
        run = run_with_fault(
            tmp_path,
            platform,
            lambda p: p.set_faults(overload_mode=mode),
            "--time-scale",
            "60",
            "--budgets",
            budgets_file(tmp_path, STRESS_GATE),
            locustfile=STRESS,
            after=1,
        )
        stats = platform.stats()
    assert run.returncode == 1, run.output[-3000:]
    point = run.report["breaking_point"]
    assert point["found"] is True and point["graceful"] is graceful, point
    counters, errors = run.report["counters"], run.report["errors"]
    if mode == "shed":
        assert counters["shed"] > 0 and errors.get("shed: http 429") == counters["shed"], errors
        assert "degradation: graceful" in run.stdout
    else:
        assert counters.get("shed", 0) == 0, counters
        assert "degradation: NOT graceful" in run.stdout
    if mode == "error":
        assert errors.get("http 500", 0) > 0, errors
    check_counts(run, stats)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_mid_run_writes_every_report(tmp_path, signum: signal.Signals) -> None:
    """SIGTERM/SIGINT mid-run: summary, JSON, JUnit, Markdown and HTML written; exit 3 (interrupted)."""
    report, junit, html = tmp_path / "report.json", tmp_path / "junit.xml", tmp_path / "report.html"
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("")
    with start_platform(*FAST) as platform:
        command = locust_command(
            BUDGETS, "--headless", "--only-summary", "--host", platform.url, "--time-scale", "4",
            "--report-json", str(report), "--report-junit", str(junit), "--html", str(html),
        )  # fmt: skip
        env = locust_env({"GITHUB_STEP_SUMMARY": str(step_summary)})
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT
        )
        try:
            wait_until(
                lambda: api_requests(platform.stats()) >= 30 or child.poll() is not None,
                60, "30 requests on the platform", every=0.05,
            )  # fmt: skip
            child.send_signal(signum)
            stdout, stderr = child.communicate(timeout=60)
        finally:
            stop_process(child)
    output = stdout + stderr
    assert child.returncode == 3, output[-3000:]
    assert TRACEBACK not in output
    assert "verdict:" in stdout and "interrupted" in stdout
    run = LocustRun(child.returncode, stdout, stderr, json.loads(report.read_text()))
    check_clean(run)
    assert any(reason.startswith("interrupted") for reason in run.report["incomplete"])
    assert "<testsuite" in junit.read_text()
    assert "(exit 3)" in step_summary.read_text()
    assert html.stat().st_size > 0
