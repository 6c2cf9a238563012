"""Run `locust` as a real subprocess, the way users and CI do, and collect what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILES = ROOT / "locustfiles"


@dataclass
class LocustRun:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def budget(self, metric: str) -> dict[str, Any]:
        assert self.report is not None, self.output[-3000:]
        return next(b for b in self.report["budgets"] if b["metric"] == metric)


def locust_command(locustfile: str | Path, *args: str) -> list[str]:
    """`python -m locust -f LOCUSTFILE ARGS` with the running interpreter: how every test starts Locust."""
    return [sys.executable, "-m", "locust", "-f", str(locustfile), *args]


def locust_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment, unbuffered output (logs read mid-run are whole) and `extra` on top."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **(extra or {})}


def start_locust(
    locustfile: str | Path, *args: str, log: Path, env: Mapping[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """A `locust` process in the background, stdout and stderr to the file `log` (a pipe could fill)."""
    with open(log, "wb") as out:
        command = locust_command(locustfile, *args)
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=locust_env(env), cwd=cwd)


def run_locust(
    locustfile: str | Path,
    *args: str,
    report: Path | None = None,
    timeout: float = 240,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    cpus: list[int] | None = None,
) -> LocustRun:
    """`python -m locust -f LOCUSTFILE --headless ARGS`; `report` adds --report-json and parses it;
    `cpus` pins locust (and its children) to those CPUs with taskset."""
    command = locust_command(locustfile, "--headless", "--only-summary", *args)
    if cpus:
        command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
    if report is not None:
        command += ["--report-json", str(report)]
    child_env = locust_env(env)
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=child_env, cwd=cwd)
    parsed = json.loads(report.read_text()) if report is not None and report.exists() else None
    return LocustRun(done.returncode, done.stdout, done.stderr, parsed)


CHAT_LOCUSTFILE = """
import locust  # noqa: F401
from locust import constant
from agentload import plugin  # noqa: F401
from agentload.traffic import users

class Chat(users.ChatResponse):
    abstract = False
    wait_time = constant(0.05)
"""
CHAT_BUDGETS = "budgets:\n  - {metric: chat_response_latency, stat: p95, threshold: 5s, min_samples: 1}\n"


def run_chat(tmp_path: Path, host: str, *args: str) -> LocustRun:
    """The suite's chat user alone (0.05 s between chats) against `host`, with its JSON report parsed."""
    (tmp_path / "chat.py").write_text(CHAT_LOCUSTFILE)
    (tmp_path / "budgets.yaml").write_text(CHAT_BUDGETS)
    budgets = ("--budgets", str(tmp_path / "budgets.yaml"))
    return run_locust(tmp_path / "chat.py", "--host", host, *budgets, *args, report=tmp_path / "report.json")


def intent_user(name: str, wait_s: float) -> str:
    """Locustfile source of a plain `FastHttpUser` that sends the platform one intent per `wait_s`."""
    return f'''
class {name}(FastHttpUser):
    wait_time = constant({wait_s})

    @task
    def intent(self):
        body = {{"messages": [{{"role": "user", "content": "hello"}}]}}
        self.client.post("/api/intent", json=body, headers={{"X-Test-User-Id": "u", "X-Clerk-Id": "c"}},
                         name="intent")
'''


def faults_after(platform: Any, seconds: float, **faults: Any) -> threading.Thread:
    """Once `platform` has seen its first intent, wait `seconds`, then set `faults` (`/_admin/faults`)."""

    def run() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not platform.stats()["requests"].get("intent"):
            time.sleep(0.05)
        time.sleep(seconds)
        platform.set_faults(**faults)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread
