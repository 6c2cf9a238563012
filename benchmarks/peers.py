"""k6, bare Locust and agentload side by side: the same load on the same core, interleaved rounds.

Four items, each at one or more levels; every level runs each tool once per round, in an order that
rotates (k6, bare, agentload / bare, agentload, k6 / ...), so slow drift hits every tool alike:

1. throughput: back-to-back `GET /api/health`, one generator core (requests/s); agentload also runs
   with its generator-health probe off (`AGENTLOAD_GENERATOR_PROBE=false`), which prices the probe;
2. closed loop: users paced to `pace_s`, as many as the rate needs (latency P50/P95/P99);
3. open model: a constant arrival rate (k6's `constant-arrival-rate`, agentload's `ArrivalRate`;
   bare Locust has no open model);
4. streaming TTFT: N concurrent back-to-back chat streams (TTFT P95 against the target's plan).

Every percentile is exact, from each request started in the steady window (after the warm-up), the
same way for every tool. Before each run the noise guard looks at the generator core; a run on a
busy core is marked and its round left out of the figures (and run again, once). The target's CPU
is read in every run: a figure measured on a saturated target says so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import k6 as k6_peer
import locustfiles as lf
from harness import LocustRun, Sampled, percentile
from items import Bench, pct, shown
from noise import CoreLoad, core_load, others_share
from target import Target, nginx_target

TOOLS = ("k6", "bare", "agentload")
NO_PROBE = "agentload_no_probe"
"""agentload with its generator-health probe off: item 1 runs it beside the others, to price the probe."""
OPEN_TOOLS = ("k6", "agentload")
"""Bare Locust has no open model."""
SPREAD_S = 1.0
"""Users start spread over this long: k6 ramps linearly, the suite staggers each spawn batch over
its second (`agentload.traffic.stagger`), bare Locust gets a random start within it.

Streams (item 4) start spread over one whole stream instead: back-to-back streams of a fixed length
keep the phase they started in, so a 1 s spread of 3,000 streams 4.8 s long made every tool start
3,000 requests in the same second, every 4.8 s, and measured that burst (k6 itself was then
200-450 ms late at P95), not 3,000 concurrent streams."""
TARGET_BUSY = 0.85
"""Target CPU share above which a figure may measure the target, not the generator."""


@dataclass(frozen=True)
class Case:
    """One level of one item: what every tool runs, for how long, and which part is steady."""

    item: str
    level: str
    kind: str  # health | closed | open | chat
    users: int  # users or VUs; for the open model, the most iterations in flight
    rate: float  # requests/s (closed: via pacing; open: the arrival rate); 0: back to back
    seconds: float  # the steady window
    warm_s: float  # ramp-up and settling, left out of every figure
    spread_s: float  # users start spread over this long (k6: a linear ramp)
    tail_s: float = 1.0  # the run goes on this long after the window, so its last requests finish
    tools: tuple[str, ...] = TOOLS
    plan_rate: float = 0.0  # streams: the completed streams/s the target's plan allows (users / stream)

    @property
    def total_s(self) -> float:
        """How long every tool runs: warm-up, the steady window and the tail."""
        return self.warm_s + self.seconds + self.tail_s

    @property
    def latency(self) -> bool:
        return self.kind != "health"


@dataclass
class Result:
    """One run of one tool: steady-window figures, generator and target CPU, the noise verdict."""

    tool: str
    rps: float
    p50: float | None
    p95: float | None
    p99: float | None
    count: int
    errors: int
    dropped: int
    gen_cpu: float | None
    others: float | None
    target_cpu: float | None
    peak_rss_mb: float
    before: CoreLoad
    command: str

    @property
    def quiet(self) -> bool:
        return self.before.quiet and (self.others is None or self.others <= 0.10)

    def headline(self, case: Case) -> float | None:
        return self.p95 if case.latency else self.rps


@dataclass
class Level:
    """Every round of one case: results per tool, in run order."""

    case: Case
    rounds: list[dict[str, Result]] = field(default_factory=list)

    def quiet_rounds(self) -> list[dict[str, Result]]:
        return [r for r in self.rounds if all(res.quiet for res in r.values())]


# --- one run per tool ----------------------------------------------------------------------------


def steady_values(run: LocustRun, start: float, seconds: float, values: str, at: str) -> list[float]:
    """The probe's `values` of the requests started in [start, start + seconds)."""
    probe = run.probe or {}
    end = start + seconds
    return [v for v, t in zip(probe.get(values, []), probe.get(at, []), strict=False) if start <= t < end]


def usage_in(sampled: Sampled, start: float, seconds: float) -> tuple[Any, Any, Any, float]:
    """Over the steady window: generator CPU, others' share of its core, target CPU; and peak RSS (MB)."""
    end = start + seconds
    gen = sampled.usage.busy(start, end)
    others = others_share(sampled.usage.core_busy(start, end), gen)
    return gen, others, sampled.target.busy(start, end), sampled.usage.peak_rss() / 2**20


def locust_run(bench: Bench, target: Target, case: Case, tool: str) -> LocustRun:
    """bare Locust or the suite, as `locust -f FILE CLASS` with the case's load."""
    env = {"BENCH_PACE_S": f"{case.users / case.rate:g}" if case.kind == "closed" else "0"}
    env["BENCH_SPREAD_S"] = f"{case.spread_s:g}"
    pid = target.worker.pid
    if case.kind == "open":
        env |= {"BENCH_RATE": f"{case.rate:g}", "BENCH_DURATION_S": f"{case.total_s:g}"}
        env["BENCH_MAX_VUS"] = str(case.users)
        args = [*bench.suite_args(target.url), "-t", f"{math.ceil(case.total_s) + 30}s"]
        return bench.locust("open_intent", lf.OPEN_INTENT, args, case.total_s + 120, env, pid)
    if tool == NO_PROBE:
        env["AGENTLOAD_GENERATOR_PROBE"] = "false"
    name = {"health": "Health", "closed": "Intent", "chat": "Chat"}[case.kind]
    args = ["-u", str(case.users), "-r", f"{spawn_rate(case, tool):g}", "-t", f"{math.ceil(case.total_s)}s"]
    if tool == "bare":
        return bench.locust(
            "bare", lf.BARE, [f"Bare{name}", *args, "--host", target.url], case.total_s + 120, env, pid
        )
    args = [f"Suite{name}", *args, *bench.suite_args(target.url)]
    return bench.locust("suite", lf.SUITE, args, case.total_s + 120, env, pid)


def spawn_rate(case: Case, tool: str) -> float:
    """All users in one batch, except the suite's over a long spread: it staggers each one-second
    batch itself, so `spread_s` seconds of batches spread its users as evenly as k6's ramp."""
    if tool == "bare" or case.spread_s <= SPREAD_S:
        return case.users
    return case.users / case.spread_s


def from_locust(run: LocustRun, case: Case, tool: str, before: CoreLoad) -> Result:
    start, _ = run.window(case.warm_s, 0)
    latency = steady_values(run, start, case.seconds, "latency", "at")
    ttft = case.kind == "chat" and tool == "agentload"
    values = steady_values(run, start, case.seconds, "ttft", "ttft_at") if ttft else latency
    report = (run.report or {}).get("counters", {})
    return Result(
        tool,
        len(latency) / case.seconds,
        *(percentile(values, q) for q in (0.5, 0.95, 0.99)),
        len(values),
        int((run.probe or {}).get("errors", 0)),
        int(report.get("dropped_iterations", 0)),
        *usage_in(run.sampled, start, case.seconds),
        before,
        shown(run),
    )


def k6_result(bench: Bench, target: Target, case: Case, before: CoreLoad) -> Result:
    k6 = k6_peer.binary()
    assert k6 is not None, "cases() leaves k6 out when it is not installed"
    variables = {
        "KIND": case.kind,
        "HOST": target.url,
        "VUS": case.users,
        "SECONDS": f"{case.total_s - (case.spread_s if case.kind in ('closed', 'chat') else 0):g}",
        "WARM_S": f"{case.warm_s:g}",
        "WINDOW_S": f"{case.seconds:g}",
        "SPREAD_S": f"{case.spread_s:g}",
    }
    if case.kind == "closed":
        variables["PACE"] = f"{case.users / case.rate:g}"
    if case.kind == "open":
        variables |= {"RATE": f"{case.rate:g}", "MAX_VUS": case.users}  # all preallocated, as k6 advises
    run = k6_peer.run_k6(
        k6, bench.work, variables, bench.machine.generator_cpus, case.total_s + 180, target.worker.pid
    )
    trend = run.trend("waiting" if case.kind == "chat" else "duration")
    start = float(run.summary.get("t0") or 0) / 1000 + case.warm_s  # setup() ran just before the scenario
    return Result(
        "k6",
        float(trend.get("count", 0)) / case.seconds,
        trend.get("med"),
        trend.get("p(95)"),
        trend.get("p(99)"),
        int(trend.get("count", 0)),
        run.failed,
        int(run.summary.get("dropped", 0)),
        *usage_in(run.sampled, start, case.seconds),
        before,
        "k6 run " + " ".join(f"-e {k}={v}" for k, v in variables.items() if k != "HOST") + " bench.js",
    )


def run_tool(bench: Bench, target: Target, case: Case, tool: str) -> Result:
    cpu = bench.machine.generator_cpus[0] if bench.machine.generator_cpus else None
    before = core_load(cpu, bench.sizes.look_s)
    if tool == "k6":
        return k6_result(bench, target, case, before)
    return from_locust(locust_run(bench, target, case, tool), case, tool, before)


# --- rounds, summaries, the table ----------------------------------------------------------------


def measure_level(bench: Bench, target: Target, case: Case, rounds: int) -> Level:
    """`rounds` quiet rounds where possible: a round with a busy run is marked and run again."""
    level, attempts = Level(case), 0
    while len(level.quiet_rounds()) < rounds and attempts < rounds + bench.sizes.retries:
        order = case.tools[attempts % len(case.tools) :] + case.tools[: attempts % len(case.tools)]
        attempts += 1
        results = {tool: run_tool(bench, target, case, tool) for tool in order}
        level.rounds.append(results)
        for tool in order:
            bench.log(result_line(case, results[tool]))
    return level


def result_line(case: Case, r: Result) -> str:
    figure = (
        f"p50 {fmt(r.p50)} p95 {fmt(r.p95)} p99 {fmt(r.p99)} ms" if case.latency else f"{r.rps:9,.0f} req/s"
    )
    noise = "" if r.quiet else f"  BUSY CORE (before: {r.before}; others {pct(r.others)})"
    return (
        f"  {case.item} {case.level:>14} {r.tool:9} {figure}  {r.rps:7,.0f}/s n={r.count} err={r.errors}"
        f" dropped={r.dropped}  generator CPU {pct(r.gen_cpu)} target CPU {pct(r.target_cpu)}"
        f" RSS {r.peak_rss_mb:.0f} MB{noise}"
    )


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f}"


def median_of(results: list[Result], key: Callable[[Result], float | None]) -> float | None:
    values = [v for v in map(key, results) if v is not None]
    return statistics.median(values) if values else None


def compare(level: Level, a: str, b: str) -> dict[str, Any] | None:
    """Per quiet round: a/b of the headline (and a - b in ms for latency); median and spread."""
    pairs = [(r[a].headline(level.case), r[b].headline(level.case)) for r in level.quiet_rounds()]
    pairs = [(x, y) for x, y in pairs if x is not None and y]
    if not pairs:
        return None
    ratios = [x / y for x, y in pairs]
    diffs = [x - y for x, y in pairs]
    return {
        "ratio": statistics.median(ratios),
        "ratio_spread": [min(ratios), max(ratios)],
        "diff": statistics.median(diffs),
        "diff_spread": [min(diffs), max(diffs)],
    }


def summary(level: Level) -> dict[str, Any]:
    """Median figures per tool over the quiet rounds, the comparisons, and what may spoil them."""
    quiet = level.quiet_rounds()
    tools: dict[str, Any] = {}
    for tool in level.case.tools:
        results = [r[tool] for r in quiet]
        tools[tool] = {
            stat: median_of(results, lambda r, s=stat: getattr(r, s))
            for stat in ("rps", "p50", "p95", "p99", "gen_cpu", "target_cpu", "peak_rss_mb")
        } | {"errors": sum(r.errors for r in results), "dropped": sum(r.dropped for r in results)}
    target_busy = max((r.target_cpu or 0.0 for rnd in quiet for r in rnd.values()), default=0.0)
    return {
        "item": level.case.item,
        "level": level.case.level,
        "case": level.case.__dict__,
        "rounds": len(level.rounds),
        "quiet_rounds": len(quiet),
        "tools": tools,
        "vs_bare": compare(level, "agentload", "bare") if "bare" in level.case.tools else None,
        "vs_k6": compare(level, "agentload", "k6"),
        "probe_cost": compare(level, "agentload", NO_PROBE) if NO_PROBE in level.case.tools else None,
        "target_cpu_max": target_busy,
        "target_saturated": target_busy > TARGET_BUSY,
        "runs": [
            {t: r.__dict__ | {"before": str(r.before), "quiet": r.quiet} for t, r in rnd.items()}
            for rnd in level.rounds
        ],
    }


def cell(case: Case, figures: dict[str, Any] | None) -> str:
    if not figures or figures.get("rps") is None:
        return "-"
    if not case.latency:
        return f"{figures['rps']:,.0f}/s"
    if figures.get("p95") is None:
        return "no sample"
    head = f"{fmt(figures['p50'])} / {fmt(figures['p95'])} / {fmt(figures['p99'])}"
    if case.plan_rate:  # falling behind shows as fewer completed streams than the plan allows
        return head + f" ({figures['rps']:,.0f} of {case.plan_rate:,.0f}/s)"
    return head + (f" ({figures['rps']:,.0f}/s)" if case.rate else "")  # the rate achieved


def versus(case: Case, c: dict[str, Any] | None) -> str:
    if c is None:
        return "-"
    if not case.latency:
        return f"{c['ratio']:.2f} [{c['ratio_spread'][0]:.2f}–{c['ratio_spread'][1]:.2f}]"
    return f"{c['diff']:+.1f} ms [{c['diff_spread'][0]:+.1f}…{c['diff_spread'][1]:+.1f}]"


def table(levels: list[dict[str, Any]], k6_version: str) -> list[str]:
    """The side-by-side table: one line per item and level."""
    head = (
        "item",
        "level",
        k6_version,
        "bare Locust",
        "agentload",
        "agentload vs bare",
        "agentload vs k6",
        "probe on / off",
        "quiet rounds",
        "target CPU",
    )
    rows = [head]
    for s in levels:
        case = Case(**s["case"])
        rows.append(
            (
                s["item"],
                s["level"],
                cell(case, s["tools"].get("k6")),
                cell(case, s["tools"].get("bare")) if "bare" in case.tools else "(none in Locust)",
                cell(case, s["tools"].get("agentload")),
                versus(case, s["vs_bare"]),
                versus(case, s["vs_k6"]),
                versus(case, s.get("probe_cost")),
                f"{s['quiet_rounds']}/{s['rounds']}",
                pct(s["target_cpu_max"]) + (" SATURATED" if s["target_saturated"] else ""),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(len(head))).rstrip() for r in rows]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def cases(bench: Bench, with_k6: bool = True) -> list[Case]:
    """Every item and level of this size (without k6's runs when it is not installed)."""
    out = [
        case if with_k6 else replace(case, tools=tuple(t for t in case.tools if t != "k6"))
        for case in _cases(bench)
    ]
    return out


def _cases(bench: Bench) -> list[Case]:
    s = bench.sizes
    level, tools = f"{s.tp_users} users", (*TOOLS, NO_PROBE)
    out = [Case("1 throughput", level, "health", s.tp_users, 0, s.tp_seconds, 1.0, 0.0, 1.0, tools)]
    for rate in s.rates:
        users = max(1, round(rate * s.pace_s))
        level = f"{rate:,.0f}/s"
        out.append(
            Case("2 closed loop", level, "closed", users, rate, s.latency_seconds, SPREAD_S + 1, SPREAD_S)
        )
    if s.in_step_rate:
        users, level = round(s.in_step_rate * s.pace_s), f"{s.in_step_rate:,.0f}/s in step"
        out.append(Case("2 closed loop", level, "closed", users, s.in_step_rate, s.latency_seconds, 2.0, 0.0))
    for rate in s.rates:
        in_flight = max(20, int(rate * 0.2))
        level = f"{rate:,.0f}/s"
        out.append(
            Case("3 open model", level, "open", in_flight, rate, s.latency_seconds, 1.5, 0.0, 1.0, OPEN_TOOLS)
        )
    for streams in s.streams:
        spread = s.plan.stream_s  # streams start spread over one stream: every phase equally busy
        warm = spread + s.plan.stream_s + 1
        level = f"{streams:,} streams"
        tail = s.plan.stream_s + 1
        case = Case("4 streaming TTFT", level, "chat", streams, 0, s.stream_seconds, warm, spread, tail)
        out.append(replace(case, plan_rate=streams / s.plan.stream_s))
    return out


def side_by_side(bench: Bench, items: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], str, str]:
    """Run every case (or those of `items`, e.g. ("1",)) against the nginx target; returns (level
    summaries, k6 version, target name)."""
    k6 = k6_peer.binary()
    k6_version = k6_peer.version(k6) if k6 else "k6 (not installed)"
    levels = []
    with nginx_target(bench.machine.target_cpus, bench.sizes.plan) as target:
        bench.log(f"[peers] {k6_version}, bare Locust and agentload against {target.version} at {target.url}")
        for case in cases(bench, with_k6=k6 is not None):
            if items and case.item.split()[0] not in items:
                continue
            levels.append(summary(measure_level(bench, target, case, bench.sizes.rounds)))
    return levels, k6_version, target.version
