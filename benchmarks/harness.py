"""Plumbing of the benchmark harness: the machine, CPU pinning, and generators as sampled subprocesses.

Every measurement of `benchmarks/run.py` runs Locust the way users and CI do: `python -m locust -f
<tiny locustfile> --headless ...` in a subprocess pinned to the generator CPU, while a thread of the
harness samples that process's CPU time and RSS from psutil. The locustfiles are written into a
temporary directory by the harness; they import `probe` (this directory) for the test-only listener.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


@dataclass(frozen=True)
class Machine:
    """What every figure is measured on, and which CPU ran what."""

    nproc: int
    cpu_model: str
    generator_cpus: list[int] | None
    target_cpus: list[int] | None

    @property
    def pinned(self) -> str:
        if self.generator_cpus is None:
            return "not pinned (fewer than 2 CPUs available)"
        return f"generator on CPU {self.generator_cpus}, target on CPU {self.target_cpus}"


def machine() -> Machine:
    """nproc, the CPU model from /proc/cpuinfo, and the pinning plan (CPU 0 load, CPU 1 target)."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cpus) < 2:
        return Machine(os.cpu_count() or 1, model, None, None)
    return Machine(os.cpu_count() or 1, model, [cpus[0]], [cpus[1]])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pinned(command: list[str], cpus: list[int] | None) -> list[str]:
    """`taskset -c CPUS command` when pinning is possible (children inherit it), else the command."""
    if cpus and shutil.which("taskset"):
        return ["taskset", "-c", ",".join(map(str, cpus)), *command]
    return command


def wait_listening(port: int, deadline_s: float = 10.0) -> None:
    stop_at = time.monotonic() + deadline_s
    while time.monotonic() < stop_at:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {deadline_s:g} s")


# --- locust as a sampled subprocess --------------------------------------------------------------


@dataclass
class Usage:
    """One process, sampled every `interval` s: (t, its CPU seconds, its RSS, busy seconds of its CPU)."""

    points: list[tuple[float, float, int, float]] = field(default_factory=list)

    def busy(self, start: float, end: float) -> float | None:
        """Share of one CPU used between wall-clock times start and end (None if too few samples)."""
        inside = [p for p in self.points if start <= p[0] <= end]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def core_busy(self, start: float, end: float) -> float | None:
        """Share of the generator CPU busy with anything (this process, colleagues' jobs, the kernel)."""
        inside = [p for p in self.points if start <= p[0] <= end]
        if len(inside) < 2 or inside[-1][0] - inside[0][0] <= 0:
            return None
        return (inside[-1][3] - inside[0][3]) / (inside[-1][0] - inside[0][0])

    def peak_rss(self) -> int:
        return max((p[2] for p in self.points), default=0)


def cpu_busy_seconds(cpu: int | None) -> float:
    """Non-idle seconds of CPU `cpu` since boot (0 when unknown)."""
    if cpu is None:
        return 0.0
    times = psutil.cpu_times(percpu=True)[cpu]
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def sample(pid: int, cpu: int | None, usage: Usage, stop: threading.Event, interval: float = 0.25) -> None:
    """Thread body: append (wall time, CPU seconds, RSS, busy of `cpu`) until `stop` or the exit."""
    with contextlib.suppress(psutil.Error):
        proc = psutil.Process(pid)
        while not stop.is_set():
            with proc.oneshot():
                times, rss = proc.cpu_times(), proc.memory_info().rss
            usage.points.append((time.time(), times.user + times.system, rss, cpu_busy_seconds(cpu)))
            stop.wait(interval)


@dataclass
class Sampled:
    """What one pinned, sampled subprocess left behind."""

    command: list[str]
    returncode: int
    output: str
    started: float
    ended: float
    usage: Usage
    target: Usage
    """The target process (when one was named), sampled the same way: its CPU in every run."""


def run_sampled(
    command: list[str],
    cpus: list[int] | None,
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    target_pid: int | None = None,
) -> Sampled:
    """Run `command` pinned to `cpus` while threads sample it (CPU, RSS, its core) and the target."""
    usage, target, stop = Usage(), Usage(), threading.Event()
    started = time.time()
    proc = subprocess.Popen(
        pinned(command, cpus),
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    cpu = cpus[0] if cpus else None
    samplers = [threading.Thread(target=sample, args=(proc.pid, cpu, usage, stop), daemon=True)]
    if target_pid is not None:
        samplers.append(threading.Thread(target=sample, args=(target_pid, None, target, stop), daemon=True))
    for sampler in samplers:
        sampler.start()
    try:
        output, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
    ended = time.time()
    stop.set()
    for sampler in samplers:
        sampler.join()
    return Sampled(command, proc.returncode, output, started, ended, usage, target)


@dataclass
class LocustRun:
    """What one locust subprocess left behind: the sampled process, its stats, report and probe."""

    sampled: Sampled
    stats: list[dict[str, Any]]
    report: dict[str, Any] | None
    probe: dict[str, Any] | None

    @property
    def command(self) -> list[str]:
        return self.sampled.command

    @property
    def output(self) -> str:
        return self.sampled.output

    def window(self, skip_s: float, tail_s: float) -> tuple[float, float]:
        """Wall-clock window from `skip_s` after the test started (probe) to `tail_s` before the exit."""
        origin = float((self.probe or {}).get("test_start") or self.sampled.started)
        return origin + skip_s, self.sampled.ended - tail_s

    def busy(self, skip_s: float, tail_s: float = 1.0) -> float | None:
        """Share of one CPU the locust process used in `window(skip_s, tail_s)`."""
        return self.sampled.usage.busy(*self.window(skip_s, tail_s))

    def core_busy(self, skip_s: float, tail_s: float = 1.0) -> float | None:
        """The generator CPU's total busy share over the same window (others' load included)."""
        return self.sampled.usage.core_busy(*self.window(skip_s, tail_s))


def _read_json(path: Path) -> Any:
    with contextlib.suppress(OSError, ValueError):
        return json.loads(path.read_text())
    return None


def run_locust(
    locustfile: Path,
    args: list[str],
    cpus: list[int] | None,
    timeout_s: float,
    env: dict[str, str] | None = None,
    target_pid: int | None = None,
) -> LocustRun:
    """`python -m locust -f LOCUSTFILE --headless ARGS` pinned to `cpus`, sampled while it runs."""
    work = locustfile.parent
    stem = locustfile.stem
    stats_path, report_path, probe_path = (
        work / f"{stem}.{kind}.json" for kind in ("stats", "report", "probe")
    )
    for path in (stats_path, report_path, probe_path):
        path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--only-summary"]
    command += ["--json-file", str(stats_path.with_suffix("")), *args]
    if "--report-json" in args:
        command[command.index("--report-json") + 1] = str(report_path)
    child_env = {"PYTHONUNBUFFERED": "1", "BENCH_PROBE_OUT": str(probe_path), **(env or {})}
    sampled = run_sampled(command, cpus, work, child_env, timeout_s, target_pid)
    return LocustRun(sampled, _read_json(stats_path) or [], _read_json(report_path), _read_json(probe_path))


def write_locustfile(work: Path, name: str, text: str) -> Path:
    """A tiny generated locustfile in the work directory; `probe` is importable from it."""
    path = work / f"{name}.py"
    header = f"import sys\nsys.path.insert(0, {str(BENCH_DIR)!r})\n"
    path.write_text(header + text)
    return path


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(q * len(ordered) + 0.999999)))
    return ordered[rank - 1]
