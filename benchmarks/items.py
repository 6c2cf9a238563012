"""What every measurement shares (`Bench`, `Sizes`, `Row`) and the suite's own two measurements.

Items 1-4 (k6, bare Locust and agentload side by side) are in `peers.py`. Here:

5. open-model fidelity: the achieved arrival rate of an `ArrivalRate` scenario against its target,
   on the reference platform made 10x slower (so iterations overlap);
6. capacity: the reference platform on one core (`platform_capacity.py`, run as it is).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import locustfiles as lf
from agentload.platform.process import start_platform
from harness import BENCH_DIR, LocustRun, Machine, run_locust, write_locustfile
from target import Plan

QS = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is; `run.py` has the smoke, quick and full sets."""

    rounds: int  # interleaved rounds of every side-by-side level
    retries: int  # extra rounds allowed when a round ran on a busy core
    look_s: float  # how long the noise guard looks at the generator core before each run
    tp_users: int
    tp_seconds: float
    rates: tuple[float, ...]  # closed-loop and open-model levels, requests/s
    pace_s: float  # closed loop: each user starts one request per pace
    in_step_rate: float  # closed loop with users started as Locust starts them (0: no such level)
    latency_seconds: float
    streams: tuple[int, ...]  # concurrent chat streams
    stream_seconds: float
    plan: Plan
    open_rates: tuple[float, ...]
    open_seconds: float
    capacity_args: tuple[str, ...]


@dataclass
class Bench:
    """What every measurement needs: the machine, a work directory, the sizes and a log."""

    machine: Machine
    work: Path
    sizes: Sizes
    log: Callable[[str], None] = print

    @property
    def budgets(self) -> Path:
        path = self.work / "budgets.yaml"
        if not path.exists():
            path.write_text(lf.BUDGETS)
        return path

    def locust(
        self,
        name: str,
        text: str,
        args: list[str],
        timeout_s: float,
        env: dict[str, str],
        target_pid: int | None = None,
    ) -> LocustRun:
        """Write locustfile `name` (once) and run it pinned to the generator CPU."""
        path = self.work / f"{name}.py"
        if not path.exists():
            write_locustfile(self.work, name, text)
        return run_locust(path, args, self.machine.generator_cpus, timeout_s, env, target_pid)

    def suite_args(self, host: str) -> list[str]:
        return ["--host", host, "--budgets", str(self.budgets), "--report-json", "report.json"]


@dataclass
class Row:
    """One line of the final table, with the details and the commands behind it."""

    item: str
    figure: str
    baseline: str
    goal: str
    status: str  # "met", "MISSED", "info"
    details: dict[str, Any] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)


def shown(run: LocustRun) -> str:
    """The locust command line as a reader would type it (temp paths shortened)."""
    command = run.command[run.command.index("-m") + 1 :] if "-m" in run.command else run.command
    prefix = run.command[: run.command.index(sys.executable)] if sys.executable in run.command else []
    return shlex.join([*prefix, *(Path(a).name if a.startswith("/") else a for a in command)])


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def metric(run: LocustRun, name: str, stat: str) -> float | None:
    value = ((run.report or {}).get("metrics", {}).get(name) or {}).get(stat)
    return float(value) if value is not None else None


def counter(run: LocustRun, name: str) -> int:
    return int((run.report or {}).get("counters", {}).get(name, 0))


# --- 5. open-model fidelity ----------------------------------------------------------------------


def open_rate(bench: Bench, url: str, rate: float) -> dict[str, Any]:
    seconds = bench.sizes.open_seconds
    env = {
        "BENCH_RATE": f"{rate:g}",
        "BENCH_DURATION_S": f"{seconds:g}",
        "BENCH_MAX_VUS": str(int(max(20, rate * 8))),
    }
    args = [*bench.suite_args(url), "-t", f"{seconds + 30:g}s"]
    run = bench.locust("open_intent", lf.OPEN_INTENT, args, seconds + 120, env)
    iterations, dropped = counter(run, "iterations"), counter(run, "dropped_iterations")
    achieved = iterations / seconds
    return {
        "target_rps": rate,
        "achieved_rps": achieved,
        "error": achieved / rate - 1,
        "iterations": iterations,
        "dropped_iterations": dropped,
        "schedule_lag_p95_ms": metric(run, "iteration_schedule_lag", "p95"),
        "intent_p50_ms": metric(run, "intent_inference_latency", "p50"),
        "locust_cpu": run.busy(1.0),
        "core_cpu": run.core_busy(1.0),
        "command": shown(run),
    }


def open_model(bench: Bench) -> Row:
    """Achieved arrival rate against the target with the platform 10x slower than normal."""
    args = ("--latency-scale", "10", "--slots", "30000", "--queue", "0")
    rates = []
    with start_platform(*args, cpus=bench.machine.target_cpus) as platform:
        for rate in bench.sizes.open_rates:
            rates.append(open_rate(bench, platform.url, rate))
            f = rates[-1]
            bench.log(
                f"  target {f['target_rps']:6g}/s achieved {f['achieved_rps']:8.2f}/s ({f['error']:+.2%})"
                f"  dropped {f['dropped_iterations']}  lag p95 {f['schedule_lag_p95_ms'] or 0:.1f} ms"
                f"  locust CPU {pct(f['locust_cpu'])} core {pct(f['core_cpu'])}"
            )
    ok = all(abs(f["error"]) <= 0.01 or f["dropped_iterations"] > 0 for f in rates)
    worst = max(rates, key=lambda f: abs(f["error"]))
    return Row(
        "5 open-model fidelity",
        f"worst {worst['error']:+.2%} at {worst['target_rps']:g}/s",
        "target rate",
        "within 1% or dropped reported",
        "met" if ok else "MISSED",
        {"latency_scale": 10, "seconds": bench.sizes.open_seconds, "rates": rates},
        sorted({f.pop("command") for f in rates}),
    )


# --- 6. platform capacity ------------------------------------------------------------------------


def capacity(bench: Bench, suite_rps: float | None) -> Row:
    """The colleague's platform_capacity.py as it is (wrk against the pinned platform, then streams)."""
    command = [sys.executable, str(BENCH_DIR / "platform_capacity.py"), "--json", *bench.sizes.capacity_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return Row("6 platform capacity", "failed", "-", "-", "MISSED", {"stderr": done.stderr[-2000:]})
    data = json.loads(lines[-1])
    health, streams = data["health"], data["streams"]
    bench.log(
        f"  health {health['requests_per_s']:,.0f} req/s ({health['tool']}); streams"
        f" {streams['completed_with_done']}/{streams['streams']} completed,"
        f" p99 TTFT {streams['p99_ttft_ms']} ms"
    )
    headroom = health["requests_per_s"] / suite_rps if suite_rps else None
    return Row(
        "6 platform capacity (1 core)",
        f"{health['requests_per_s']:,.0f} health req/s; {streams['completed_with_done']} streams",
        f"suite generator {suite_rps:,.0f} req/s" if suite_rps else "-",
        "not the bottleneck (> suite rate)",
        "info" if headroom is None else ("met" if headroom > 1 else "MISSED"),
        {**data, "headroom_over_suite_generator": headroom},
        [shlex.join(["python", "benchmarks/platform_capacity.py", "--json", *bench.sizes.capacity_args])],
    )
