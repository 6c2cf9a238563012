"""Benchmark harness of agentload: `make bench` (full), `make bench-quick`, `--smoke` (tests).

    python benchmarks/run.py [--quick | --smoke] [--json PATH] [--only peers,5,6 | --only 1]

Side by side with k6 and bare Locust (`peers.py`), interleaved rounds against nginx + echo module:

1. throughput of one generator core (back-to-back health requests), agentload with its generator
   probe on and off (the probe's cost);
2. closed-loop timing at each rate (users paced to 0.2 s);
3. open-model timing at each rate (k6 constant-arrival-rate, agentload ArrivalRate);
4. streaming TTFT at each number of concurrent streams;

and the suite's own (`items.py`), each against a baseline of the same run:

5. open-model fidelity: achieved arrival rate of an ArrivalRate scenario against the target;
6. platform capacity: the reference platform on one core (benchmarks/platform_capacity.py).

Every generator runs as a real subprocess pinned to one CPU, the target to another (when there are
two). These are benchmarks, not tests: they print figures and exit 0 even when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import items
import peers
from harness import Machine, machine
from items import Bench, Row, Sizes
from platform_capacity import raise_fd_limit
from target import Plan

SIZES = {
    "smoke": Sizes(
        rounds=1,
        retries=0,
        look_s=0.2,
        tp_users=4,
        tp_seconds=2,
        rates=(50,),
        pace_s=0.2,
        in_step_rate=0,
        latency_seconds=2,
        streams=(20,),
        stream_seconds=2,
        plan=Plan(intent_ms=20, ttft_ms=100, itl_ms=20, tokens=5),
        open_rates=(10, 50),
        open_seconds=2,
        capacity_args=(
            "--duration",
            "1",
            "--streams",
            "20",
            "--ttft-ms",
            "50",
            "--itl-ms",
            "10",
            "--tokens",
            "3",
        ),
    ),
    "quick": Sizes(
        rounds=3,
        retries=3,
        look_s=1.0,
        tp_users=32,
        tp_seconds=4,
        rates=(50, 1000),
        pace_s=0.2,
        in_step_rate=0,
        latency_seconds=4,
        streams=(2000, 4000),
        stream_seconds=4,
        plan=Plan(),
        open_rates=(10, 100, 1000),
        open_seconds=5,
        capacity_args=("--quick",),
    ),
    "full": Sizes(
        rounds=3,
        retries=3,
        look_s=1.0,
        tp_users=32,
        tp_seconds=8,
        rates=(50, 1000, 5000),
        pace_s=0.2,
        in_step_rate=1000,
        latency_seconds=10,
        streams=(1000, 2000, 3000, 4000, 5000),
        stream_seconds=10,
        plan=Plan(),
        open_rates=(10, 100, 1000),
        open_seconds=20,
        capacity_args=(),
    ),
}
NOISE = (
    "shared machine: before each run the generator core is checked (busy <= 10%, steal <= 2%) and a"
    " round with a busy run is left out; 'target CPU' is the target's busiest run"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes: about 12 minutes")
    size.add_argument("--smoke", action="store_true", help="tiny sizes: proves the harness works end to end")
    p.add_argument("--json", metavar="PATH", help="also write every figure as JSON here")
    p.add_argument(
        "--only",
        default="peers,5,6",
        help="measurements to run, e.g. peers,5, or side-by-side items alone, e.g. 1 (default: all)",
    )
    return p.parse_args(argv)


def header(m: Machine, mode: str, command: str) -> list[str]:
    return [
        f"agentload benchmarks ({mode}): {command}",
        f"machine: nproc={m.nproc}, CPU {m.cpu_model}; {m.pinned}",
        f"note: {NOISE}",
    ]


def table(rows: list[Row]) -> list[str]:
    """The suite's own measurements: one line each."""
    head = ("measurement", "figure", "baseline (same run)", "goal", "status")
    cells = [head, *((r.item, r.figure, r.baseline, r.goal, r.status) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def measure(bench: Bench, only: set[str]) -> tuple[list[dict], list[str], list[Row]]:
    """The side-by-side levels (with their table) and the suite's own rows, in order."""
    levels: list[dict] = []
    side: list[str] = []
    side_items = tuple(sorted(only & {"1", "2", "3", "4"}))
    if "peers" in only or side_items:
        bench.log(f"[{','.join(side_items) or '1-4'}] k6, bare Locust and agentload side by side")
        try:
            levels, k6_version, target = peers.side_by_side(bench, side_items)
            side = [f"side by side against {target}:", *peers.table(levels, k6_version)]
        except Exception as exc:  # a benchmark reports, it does not crash the rest
            side = [f"side by side failed: {type(exc).__name__}: {exc}"]
    rows: list[Row] = []
    if "5" in only:
        rows.append(guarded(bench, "5", items.open_model))
    if "6" in only:
        throughput = next((s for s in levels if s["item"].startswith("1")), None)
        suite_rps = (throughput or {}).get("tools", {}).get("agentload", {}).get("rps")
        rows.append(guarded(bench, "6", lambda b: items.capacity(b, suite_rps)))
    return levels, side, rows


def guarded(bench: Bench, key: str, step) -> Row:
    bench.log(f"[{key}] {(step.__doc__ or 'platform capacity').strip().splitlines()[0]}")
    started = time.monotonic()
    try:
        row = step(bench)
    except Exception as exc:  # a benchmark reports, it does not crash the rest
        row = Row(f"{key} (failed)", f"{type(exc).__name__}: {exc}"[:80], "-", "-", "MISSED")
    row.details["elapsed_s"] = round(time.monotonic() - started, 1)
    for command in row.commands:
        bench.log(f"  $ {command}")
    return row


def writable(path: Path) -> bool:
    """Make the JSON file's folder before the run, so forty minutes of figures are not lost to it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return True
    except OSError as exc:
        reason = f"cannot write {exc.filename or path}: {exc.strerror or exc}"
        print(f"run.py: --json {path}: {reason}", file=sys.stderr)
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    if args.json and not writable(Path(args.json)):
        return 2
    m, started = machine(), time.monotonic()
    raise_fd_limit()
    print("\n".join(header(m, mode, command)), flush=True)
    with tempfile.TemporaryDirectory(prefix="agentload-bench-") as work:
        bench = Bench(m, Path(work), SIZES[mode], log=lambda line: print(line, flush=True))
        levels, side, rows = measure(bench, set(args.only.split(",")))
    elapsed = time.monotonic() - started
    own = table(rows) if rows else []
    print("\n" + "\n".join([*header(m, mode, command), "", *side, "", *own, "", f"total {elapsed:.0f} s"]))
    if args.json:
        document = {
            "mode": mode,
            "command": command,
            "machine": asdict(m) | {"pinned": m.pinned},
            "note": NOISE,
            "elapsed_s": round(elapsed, 1),
            "side_by_side": levels,
            "rows": [asdict(r) for r in rows],
        }
        Path(args.json).write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
