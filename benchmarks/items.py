"""The five measurements of the harness; each returns one `Row`, compared with a baseline of the same run.

1. throughput: the suite's health user (every listener of a normal run) against a bare FastHttpUser;
2. timing: the suite's intent P50/P95/P99 against the platform's own Server-Timing at 3 loads;
3. streaming: open chat streams one generator core holds with the TTFT error <= 5 ms; RSS per user;
4. open model: the achieved arrival rate of an `ArrivalRate` scenario against its target;
5. capacity: the reference platform on one core (`platform_capacity.py`, run as it is).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

import locustfiles as lf
from agentload.platform.process import start_platform
from harness import BENCH_DIR, LocustRun, Machine, nginx, percentile, run_locust, write_locustfile

QS = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is; `run.py` has the smoke, quick and full sets."""

    tp_users: int
    tp_seconds: float
    tp_orders: tuple[tuple[str, ...], ...]
    timing_levels: tuple[tuple[int, float], ...]  # (users, total requests/s; 0 = back to back)
    timing_seconds: float
    timing_service_ms: int
    stream_steps: tuple[int, ...]
    stream_plan: tuple[int, int, int]  # ttft ms, itl ms, tokens
    stream_hold_s: float
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
        self, name: str, text: str, args: list[str], timeout_s: float, env: dict[str, str]
    ) -> LocustRun:
        """Write locustfile `name` (once) and run it pinned to the generator CPU."""
        path = self.work / f"{name}.py"
        if not path.exists():
            write_locustfile(self.work, name, text)
        return run_locust(path, args, self.machine.generator_cpus, timeout_s, env)

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


@contextlib.contextmanager
def process_cpu(pid: int) -> Iterator[dict[str, float]]:
    """Share of one CPU process `pid` (the target) used while the block ran: out["busy"]."""
    out: dict[str, float] = {}
    proc = psutil.Process(pid)
    t0, c0 = time.time(), sum(proc.cpu_times()[:2])
    yield out
    with contextlib.suppress(psutil.Error):
        out["busy"] = (sum(proc.cpu_times()[:2]) - c0) / max(1e-9, time.time() - t0)


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.0f}%"


def metric(run: LocustRun, name: str, stat: str) -> float | None:
    value = ((run.report or {}).get("metrics", {}).get(name) or {}).get(stat)
    return float(value) if value is not None else None


def counter(run: LocustRun, name: str) -> int:
    return int((run.report or {}).get("counters", {}).get(name, 0))


# --- 1. throughput ratio -------------------------------------------------------------------------


@contextlib.contextmanager
def health_target(machine: Machine) -> Iterator[tuple[str, str]]:
    """nginx from the distribution when installed, else the reference platform's health endpoint."""
    if shutil.which("nginx"):
        version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        with nginx(machine.target_cpus) as url:
            yield url, version.replace("nginx version: ", "")
        return
    with start_platform("--fixed-latency-ms", "0", cpus=machine.target_cpus) as platform:
        yield platform.url, "reference platform /api/health"


def health_run(bench: Bench, kind: str, url: str) -> LocustRun:
    s = bench.sizes
    args = ["-u", str(s.tp_users), "-r", str(s.tp_users), "-t", f"{s.tp_seconds:g}s"]
    if kind == "bare":
        return bench.locust("bare_health", lf.BARE_HEALTH, [*args, "--host", url], s.tp_seconds + 60, {})
    env = {"BENCH_NO_RECORDING": "1"} if kind == "unrecorded" else {}
    return bench.locust(
        f"{kind}_health", lf.SUITE_HEALTH, [*args, *bench.suite_args(url)], s.tp_seconds + 60, env
    )


def throughput(bench: Bench) -> Row:
    """Requests/s of the suite's health user over a bare FastHttpUser: same endpoint, core and users."""
    runs: dict[str, list[LocustRun]] = {"bare": [], "suite": [], "unrecorded": []}
    with health_target(bench.machine) as (url, target):
        for order in bench.sizes.tp_orders:
            for kind in order:
                run = health_run(bench, kind, url)
                runs[kind].append(run)
                name = "/api/health" if kind == "bare" else "health_check_latency"
                bench.log(
                    f"  {kind:10} {run.rps(name):8,.0f} req/s  locust CPU {pct(run.busy(1.0))}"
                    f"  core CPU {pct(run.core_busy(1.0))}"
                )
    bare = statistics.mean(r.rps("/api/health") for r in runs["bare"])
    suite = statistics.mean(r.rps("health_check_latency") for r in runs["suite"])
    unrecorded = statistics.mean(r.rps("health_check_latency") for r in runs["unrecorded"])
    ratio = suite / bare if bare else 0.0
    recording = suite / unrecorded if unrecorded else 0.0
    return Row(
        "1 throughput ratio (suite/bare)",
        f"{ratio:.2f} ({suite:,.0f} req/s); recording on/off {recording:.2f}",
        f"bare {bare:,.0f} req/s",
        ">= 0.90",
        "met" if ratio >= 0.9 else "MISSED",
        {
            "target": target,
            "ratio": ratio,
            "recording_ratio": recording,
            "unrecorded_rps": unrecorded,
            "suite_rps": suite,
            "bare_rps": bare,
            "users": bench.sizes.tp_users,
            "seconds": bench.sizes.tp_seconds,
            "order": [list(o) for o in bench.sizes.tp_orders],
        },
        sorted({shown(r) for rs in runs.values() for r in rs}),
    )


# --- 2. timing accuracy --------------------------------------------------------------------------


def timing_level(bench: Bench, url: str, users: int, rate: float) -> LocustRun:
    ramp = max(1.0, users / 1000)
    args = ["-u", str(users), "-r", f"{users / ramp:g}", "-t", f"{ramp + bench.sizes.timing_seconds:g}s"]
    env = {"BENCH_SERVER_TIMING": "1", "BENCH_PER_USER_RATE": f"{rate / users if rate else 0:g}"}
    timeout = ramp + bench.sizes.timing_seconds + 90
    return bench.locust("suite_intent", lf.SUITE_INTENT, [*args, *bench.suite_args(url)], timeout, env)


def steady(
    run: LocustRun, client: str, server: str, at: str, skip_s: float
) -> tuple[list[float], list[float]]:
    """(suite values, Server-Timing values) of the requests started `skip_s` or more after test start."""
    probe = run.probe or {}
    since = float(probe.get("test_start") or 0) + skip_s
    rows = zip(probe.get(client, []), probe.get(server, []), probe.get(at, []), strict=False)
    kept = [(c, s) for c, s, t in rows if t >= since]
    return [c for c, _ in kept], [s for _, s in kept]


def timing_figures(run: LocustRun, overhead: float, users: int, ramp: float) -> dict[str, Any]:
    """Suite percentiles against Server-Timing percentiles plus the low-load HTTP overhead.

    Steady state: requests started after the ramp and 1 s more, from the suite's own sample values
    (what its histogram records). Whole run: the suite's JSON report, ramp-up bursts included.
    """
    client, server = steady(run, "client", "server", "at", ramp + 1.0)
    every = (run.probe or {}).get("server", [])
    out: dict[str, Any] = {"users": users, "samples": len(every), "steady_samples": len(server)}
    out["overhead_ms"] = overhead
    for stat, q in QS:
        suite, truth = percentile(client, q), percentile(server, q)
        whole, whole_truth = metric(run, "intent_inference_latency", stat), percentile(every, q)
        out[stat] = {"suite_ms": suite, "server_timing_ms": truth, "report_ms": whole}
        if suite is not None and truth is not None:
            out[stat]["error_ms"] = suite - (truth + overhead)
        if whole is not None and whole_truth is not None:
            out[stat]["report_error_ms"] = whole - (whole_truth + overhead)
    out["rps"] = run.rps("intent_inference_latency")
    out["locust_cpu"], out["core_cpu"] = run.busy(ramp), run.core_busy(ramp)
    return out


def overhead_of(run: LocustRun, ramp: float) -> float:
    """Median of (suite latency - Server-Timing) per steady request: loopback + HTTP + client, low load."""
    client, server = steady(run, "client", "server", "at", ramp + 1.0)
    pairs = [c - s for c, s in zip(client, server, strict=True)]
    return statistics.median(pairs) if pairs else 0.0


def timing(bench: Bench) -> Row:
    """P50/P95/P99 error of the suite at each load; the first load where the P95 error is too big."""
    s = bench.sizes
    args = ("--fixed-latency-ms", f"intent={s.timing_service_ms}", "--slots", "8192", "--queue", "0")
    levels, runs, overhead, first_bad = [], [], None, None
    with start_platform(*args, cpus=bench.machine.target_cpus) as platform:
        for users, rate in s.timing_levels:
            ramp = max(1.0, users / 1000)
            with process_cpu(platform.process.pid) as target:
                run = timing_level(bench, platform.url, users, rate)
            runs.append(run)
            overhead = overhead_of(run, ramp) if overhead is None else overhead
            fig = timing_figures(run, overhead, users, ramp)
            fig["target_rps"], fig["target_cpu"] = rate or "back to back", target.get("busy")
            levels.append(fig)
            bench.log(timing_line(fig))
            if first_bad is None and not timing_ok(fig, "error_ms"):
                first_bad = users
    return timing_row(levels, first_bad, runs, s)


def timing_ok(fig: dict[str, Any], key: str) -> bool:
    err, truth = fig["p95"].get(key), fig["p95"].get("server_timing_ms")
    return err is not None and abs(err) <= max(0.01 * (truth + fig["overhead_ms"]), 2.0)


def busy_core(fig: dict[str, Any]) -> float:
    """How busy the generator CPU was (with anything: colleagues' jobs count), else the locust share."""
    return fig["core_cpu"] if fig["core_cpu"] is not None else fig["locust_cpu"] or 0.0


def timing_line(fig: dict[str, Any]) -> str:
    errs = " ".join(f"{st} {fig[st].get('error_ms', float('nan')):+6.2f}" for st, _ in QS)
    return (
        f"  {fig['users']:5} users {fig['rps']:7,.0f} req/s"
        f"  steady: suite p95 {fig['p95']['suite_ms'] or 0:7.2f}"
        f" Server-Timing p95 {fig['p95']['server_timing_ms'] or 0:7.2f} error ms {errs};"
        f" whole-run report p95 {fig['p95']['report_ms'] or 0:7.2f} error"
        f" {fig['p95'].get('report_error_ms', float('nan')):+.2f};"
        f"  locust CPU {pct(fig['locust_cpu'])} core {pct(fig['core_cpu'])}"
        f"  platform CPU {pct(fig.get('target_cpu'))}"
    )


def timing_row(levels: list[dict[str, Any]], first_bad: int | None, runs: list[LocustRun], s: Sizes) -> Row:
    worst = max((abs(f["p95"].get("error_ms") or 0.0) for f in levels), default=0.0)
    whole = max((abs(f["p95"].get("report_error_ms") or 0.0) for f in levels), default=0.0)
    under80 = [f for f in levels if busy_core(f) < 0.8]
    met = all(timing_ok(f, "error_ms") for f in under80) and bool(under80)
    where = f"exceeded from {first_bad} users" if first_bad else f"ok at all {len(levels)} loads"
    return Row(
        "2 timing accuracy (P95 error)",
        f"steady {worst:.2f} ms, {where}; whole run {whole:.2f} ms",
        f"Server-Timing + {levels[0]['overhead_ms']:.2f} ms loopback",
        "<= max(1%, 2 ms) at < 80% CPU",
        "met" if met else "MISSED",
        {"service_ms": s.timing_service_ms, "levels": levels, "first_exceeded_at_users": first_bad},
        sorted({shown(r) for r in runs}),
    )


# --- 3. streaming scale --------------------------------------------------------------------------


def stream_step(bench: Bench, url: str, users: int) -> tuple[LocustRun, float]:
    ramp = max(1.0, users / 1000)
    args = ["-u", str(users), "-r", f"{users / ramp:g}", "-t", f"{ramp + bench.sizes.stream_hold_s:g}s"]
    timeout = ramp + bench.sizes.stream_hold_s + 120
    run = bench.locust(
        "suite_chat", lf.SUITE_CHAT, [*args, *bench.suite_args(url)], timeout, {"BENCH_SERVER_TIMING": "1"}
    )
    return run, ramp


def stream_figures(run: LocustRun, users: int, ramp: float) -> dict[str, Any]:
    """Steady-state TTFT P95 error (suite sample values vs planned Server-Timing), whole-run too, KB/user."""
    probe = run.probe or {}
    client, server = steady(run, "client_ttft", "server_ttft", "ttft_at", ramp + 1.0)
    suite_p95, server_p95 = percentile(client, 0.95), percentile(server, 0.95)
    err = suite_p95 - server_p95 if suite_p95 is not None and server_p95 is not None else None
    whole, whole_truth = (
        metric(run, "chat_time_to_first_token", "p95"),
        percentile(probe.get("server_ttft", []), 0.95),
    )
    rss = run.peak_rss(ramp, 0.5) - int(probe.get("rss_start") or 0)
    requests, errors = counter(run, "requests"), counter(run, "errors") + counter(run, "shed")
    return {
        "users": users,
        "streams": requests,
        "errors": errors,
        "suite_ttft_p95_ms": suite_p95,
        "server_ttft_p95_ms": server_p95,
        "ttft_error_ms": err,
        "rss_delta_bytes": rss,
        "report_ttft_p95_ms": whole,
        "report_ttft_error_ms": whole - whole_truth
        if whole is not None and whole_truth is not None
        else None,
        "kb_per_user": rss / users / 1024,
        "locust_cpu": run.busy(ramp),
        "core_cpu": run.core_busy(ramp),
        "held": err is not None and err <= 5.0 and requests > 0 and errors <= 0.01 * requests,
    }


def streaming(bench: Bench) -> Row:
    """Step up concurrent streams until the TTFT P95 error exceeds 5 ms; RSS per concurrent user."""
    ttft, itl, tokens = bench.sizes.stream_plan
    args = ("--fixed-ttft-ms", str(ttft), "--fixed-itl-ms", str(itl), "--fixed-tokens", str(tokens))
    steps, runs = [], []
    with start_platform(
        *args, "--slots", "30000", "--queue", "0", cpus=bench.machine.target_cpus
    ) as platform:
        for users in bench.sizes.stream_steps:
            with process_cpu(platform.process.pid) as target:
                run, ramp = stream_step(bench, platform.url, users)
            runs.append(run)
            steps.append(stream_figures(run, users, ramp) | {"target_cpu": target.get("busy")})
            bench.log(stream_line(steps[-1]))
    held = max((f["users"] for f in steps if f["held"]), default=0)
    top = steps[-1]
    return Row(
        "3 streaming scale (streams/core)",
        f"{held} held; {top['kb_per_user']:.0f} KB/user at {top['users']}",
        "Server-Timing planned TTFT",
        ">= 5000 streams, < 200 KB/user",
        "met" if held >= 5000 and top["kb_per_user"] < 200 else "MISSED",
        {"plan": {"ttft_ms": ttft, "itl_ms": itl, "tokens": tokens}, "steps": steps, "max_held": held},
        sorted({shown(r) for r in runs}),
    )


def stream_line(f: dict[str, Any]) -> str:
    err = f["ttft_error_ms"]
    return (
        f"  {f['users']:5} users {f['streams']:6} streams {f['errors']:4} errors"
        f"  steady TTFT p95 error {'n/a' if err is None else f'{err:+.2f} ms'}"
        f" (whole run {f['report_ttft_error_ms'] or 0:+.2f} ms)  {f['kb_per_user']:6.1f} KB/user"
        f"  locust CPU {pct(f['locust_cpu'])} core {pct(f['core_cpu'])}"
        f"  platform CPU {pct(f.get('target_cpu'))}  {'held' if f['held'] else 'NOT held'}"
    )


# --- 4. open-model fidelity ----------------------------------------------------------------------


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
        "4 open-model fidelity",
        f"worst {worst['error']:+.2%} at {worst['target_rps']:g}/s",
        "target rate",
        "within 1% or dropped reported",
        "met" if ok else "MISSED",
        {"latency_scale": 10, "seconds": bench.sizes.open_seconds, "rates": rates},
        sorted({f.pop("command") for f in rates}),
    )


# --- 5. platform capacity ------------------------------------------------------------------------


def capacity(bench: Bench, suite_rps: float | None) -> Row:
    """The colleague's platform_capacity.py as it is (wrk against the pinned platform, then streams)."""
    command = [sys.executable, str(BENCH_DIR / "platform_capacity.py"), "--json", *bench.sizes.capacity_args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return Row("5 platform capacity", "failed", "-", "-", "MISSED", {"stderr": done.stderr[-2000:]})
    data = json.loads(lines[-1])
    health, streams = data["health"], data["streams"]
    bench.log(
        f"  health {health['requests_per_s']:,.0f} req/s ({health['tool']}); streams"
        f" {streams['completed_with_done']}/{streams['streams']} completed,"
        f" p99 TTFT {streams['p99_ttft_ms']} ms"
    )
    headroom = health["requests_per_s"] / suite_rps if suite_rps else None
    return Row(
        "5 platform capacity (1 core)",
        f"{health['requests_per_s']:,.0f} health req/s; {streams['completed_with_done']} streams",
        f"suite generator {suite_rps:,.0f} req/s" if suite_rps else "-",
        "not the bottleneck (> suite rate)",
        "info" if headroom is None else ("met" if headroom > 1 else "MISSED"),
        {**data, "headroom_over_suite_generator": headroom},
        [shlex.join(["python", "benchmarks/platform_capacity.py", "--json", *bench.sizes.capacity_args])],
    )
