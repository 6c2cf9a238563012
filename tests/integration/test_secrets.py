"""Secrets never leak: every profile, every output (console, JSON, JUnit, Markdown, HTML, CSV).

Each run uses a canary system key (the platform is started with the same key, so steps succeed) and
a target URL carrying canary credentials, given either as `--host` or as `BASE_URL`. Locust's
FastHttpSession strips `user:password@` from the URL and sends it as a Basic Authorization header,
and the health pre-check does the same, so the runs work; the test checks that they do (requests
answered, no 401) and that no output contains the key, the password or its Basic-auth encoding.
Logging is at DEBUG to give a leak every chance to show.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agentload.platform.process import start_platform

from locust_run import LOCUSTFILES, run_locust
from tools import FAST

SYSTEM_KEY = "sk-agentload-canary-7f3a"
PASSWORD = "pa55w0rd-canary"
CANARIES = (SYSTEM_KEY, PASSWORD, base64.b64encode(f"user:{PASSWORD}".encode()).decode())
NO_STEP = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, min_samples: 5}
  - {metric: chat_response_latency, stat: p95, threshold: 1.5s, min_samples: 5}
  - {metric: error_rate, stat: rate, threshold: 1%, min_samples: 1}
"""
PROFILES = {
    "budgets": ("budgets.py", ("--time-scale", "20")),
    "load": ("load.py", ("-u", "5", "-t", "6s", "-r", "5")),
    "stress": ("stress.py", ("--time-scale", "120")),
}


def leaks(outputs: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, canary) for name, text in outputs.items() for canary in CANARIES if canary in text]


def run_with_canaries(tmp_path: Path, profile: str, via: str) -> None:
    """One run of `profile`, the target given `via` BASE_URL or --host: it worked and leaked nothing."""
    tmp_path.mkdir()
    locustfile, args = PROFILES[profile]
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(NO_STEP)
    outputs_dir = tmp_path / "out"
    outputs_dir.mkdir()
    step_summary = outputs_dir / "step_summary.md"
    step_summary.write_text("")
    with start_platform(*FAST, system_key=SYSTEM_KEY) as platform:
        url = platform.url.replace("http://", f"http://user:{PASSWORD}@", 1)
        env = {"INTERNAL_SYSTEM_KEY": SYSTEM_KEY, "GITHUB_STEP_SUMMARY": str(step_summary), "BASE_URL": ""}
        target: tuple[str, ...] = ("--host", url)
        if via == "BASE_URL":
            env["BASE_URL"], target = url, ()
        run = run_locust(
            LOCUSTFILES / locustfile,
            *target,
            *args,
            "--budgets",
            str(budgets) if profile != "budgets" else str(LOCUSTFILES.parent / "budgets.yaml"),
            "--report-junit",
            str(outputs_dir / "junit.xml"),
            "--html",
            str(outputs_dir / "report.html"),
            "--csv",
            str(outputs_dir / "stats"),
            "--loglevel",
            "DEBUG",
            report=outputs_dir / "report.json",
            env=env,
            timeout=120,
        )
        stats = platform.stats()
    # The run worked: the pre-check passed, requests were answered, the key was accepted.
    assert run.returncode in (0, 1), run.output[-3000:]
    assert run.report is not None and run.report["counters"]["requests"] > 0
    assert "401" not in stats["totals"], stats
    if profile == "budgets":
        assert run.report["metrics"]["step_execution_latency"]["count"] > 0
    outputs = {"stdout": run.stdout, "stderr": run.stderr}
    files = sorted(path for path in outputs_dir.iterdir() if path.is_file())
    outputs |= {path.name: path.read_text(errors="replace") for path in files}
    assert {"report.json", "junit.xml", "step_summary.md", "report.html", "stats_stats.csv"} <= set(outputs)
    assert step_summary.stat().st_size > 0
    found = leaks(outputs)
    assert found == [], (via, found)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_no_secret_in_any_output(tmp_path, profile: str) -> None:
    """A canary system key and URL password, given as BASE_URL and as --host: it works, nothing leaks."""
    with ThreadPoolExecutor(2) as pool:  # the two runs at once: each mostly waits on its schedule
        vias = ("BASE_URL", "host")
        runs = [pool.submit(run_with_canaries, tmp_path / via, profile, via) for via in vias]
        for run in runs:
            run.result()
