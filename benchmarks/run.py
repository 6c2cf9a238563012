"""Benchmark harness of agentload: `make bench` (full), `make bench-quick` (< 3 min), `--smoke` (tests).

    python benchmarks/run.py [--quick | --smoke] [--json PATH] [--only 1,3]

Five measurements, each against a baseline taken in the same run (ratios never mix runs):

1. throughput ratio: the suite's health user (every listener of a normal run) / a bare FastHttpUser;
2. timing accuracy: the suite's intent P50/P95/P99 against the platform's Server-Timing at 3 loads;
3. streaming scale: concurrent chat streams one generator core holds (TTFT error <= 5 ms), KB/user;
4. open-model fidelity: achieved arrival rate of an ArrivalRate scenario against the target;
5. platform capacity: the reference platform on one core (benchmarks/platform_capacity.py).

Locust runs as a real subprocess pinned to one CPU, the target to another (when there are two).
These are benchmarks, not tests: they print figures and exit 0 even when a goal is missed.
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
from harness import Machine, machine
from items import Bench, Row, Sizes
from platform_capacity import raise_fd_limit

SIZES = {
    "smoke": Sizes(
        tp_users=4,
        tp_seconds=2,
        tp_orders=(("bare", "suite", "unrecorded"),),
        timing_levels=((5, 0), (20, 100)),
        timing_seconds=2,
        timing_service_ms=20,
        stream_steps=(20,),
        stream_plan=(100, 20, 5),
        stream_hold_s=2,
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
        tp_users=32,
        tp_seconds=5,
        tp_orders=(("bare", "suite", "unrecorded"),),
        timing_levels=((10, 0), (200, 1000), (2000, 1000)),
        timing_seconds=5,
        timing_service_ms=50,
        stream_steps=(500, 1000, 2000),
        stream_plan=(1000, 200, 20),
        stream_hold_s=12,
        open_rates=(10, 100, 1000),
        open_seconds=5,
        capacity_args=("--quick",),
    ),
    "full": Sizes(
        tp_users=32,
        tp_seconds=8,
        tp_orders=(("bare", "suite", "unrecorded"), ("unrecorded", "suite", "bare")),
        timing_levels=((10, 0), (200, 1000), (2000, 1000), (2000, 2000)),
        timing_seconds=12,
        timing_service_ms=50,
        stream_steps=(1000, 2000, 3000, 4000, 5000, 6000),
        stream_plan=(1000, 200, 20),
        stream_hold_s=12,
        open_rates=(10, 100, 1000),
        open_seconds=20,
        capacity_args=(),
    ),
}
NOISE = (
    "2-core machine shared with other jobs: figures are noisy; 'core CPU' shows all load on the generator CPU"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes: under 3 minutes")
    size.add_argument("--smoke", action="store_true", help="tiny sizes: proves the harness works end to end")
    p.add_argument("--json", metavar="PATH", help="also write every figure as JSON here")
    p.add_argument("--only", default="1,2,3,4,5", help="measurements to run, e.g. 1,3 (default: all)")
    return p.parse_args(argv)


def header(m: Machine, mode: str, command: str) -> list[str]:
    return [
        f"agentload benchmarks ({mode}): {command}",
        f"machine: nproc={m.nproc}, CPU {m.cpu_model}; {m.pinned}",
        f"note: {NOISE}",
    ]


def table(rows: list[Row]) -> list[str]:
    """The final table: one line per measurement."""
    head = ("measurement", "figure", "baseline (same run)", "goal", "status")
    cells = [head, *((r.item, r.figure, r.baseline, r.goal, r.status) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = ["  ".join(c[i].ljust(widths[i]) for i in range(len(head))).rstrip() for c in cells]
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def measure(bench: Bench, only: set[str]) -> list[Row]:
    """Run the chosen measurements in order; an exception becomes a row, never a crash."""
    rows: list[Row] = []
    steps = [("1", items.throughput), ("2", items.timing), ("3", items.streaming), ("4", items.open_model)]
    for key, step in steps:
        if key in only:
            rows.append(guarded(bench, key, step))
    if "5" in only:
        suite_rps = next((r.details.get("suite_rps") for r in rows if r.item.startswith("1")), None)
        rows.append(guarded(bench, "5", lambda b: items.capacity(b, suite_rps)))
    return rows


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    command = shlex.join(["python", "benchmarks/run.py", *(sys.argv[1:] if argv is None else argv)])
    m, started = machine(), time.monotonic()
    raise_fd_limit()
    print("\n".join(header(m, mode, command)), flush=True)
    with tempfile.TemporaryDirectory(prefix="agentload-bench-") as work:
        bench = Bench(m, Path(work), SIZES[mode], log=lambda line: print(line, flush=True))
        rows = measure(bench, set(args.only.split(",")))
    elapsed = time.monotonic() - started
    print("\n" + "\n".join([*header(m, mode, command), "", *table(rows), "", f"total {elapsed:.0f} s"]))
    if args.json:
        document = {
            "mode": mode,
            "command": command,
            "machine": asdict(m) | {"pinned": m.pinned},
            "note": NOISE,
            "elapsed_s": round(elapsed, 1),
            "rows": [asdict(r) for r in rows],
        }
        Path(args.json).write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
