"""Capacity benchmark of the reference platform: health req/s on one core, concurrent open chat streams.

The platform is the default target of load tests, so it must never be the bottleneck that a test
mistakes for a regression of the system under test. This script measures what one platform process
pinned to one CPU can do: (a) GET /api/health requests per second, driven by ``wrk`` (or an aiohttp
client loop when wrk is missing) pinned to another CPU; (b) how many concurrent streaming chats with
long, overlapping fixed timing it serves to ``[DONE]`` without error, and how much the token schedule
stretches under that load.

    python benchmarks/platform_capacity.py [--quick] [--json] [--streams 2000] [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from agentload.platform.process import USER_HEADERS, start_platform

CHAT_BODY = {"messages": [{"role": "user", "content": "book a table and order a taxi"}], "stream": True}


@dataclass
class HealthResult:
    tool: str
    connections: int
    duration_s: float
    requests_per_s: float
    non_2xx: int


@dataclass
class StreamResult:
    streams: int
    completed_with_done: int
    failed: int
    planned_ms: float
    p50_total_ms: float
    p99_total_ms: float
    max_total_ms: float
    p50_ttft_ms: float
    p99_ttft_ms: float
    peak_in_flight: int


def cpu_plan() -> tuple[set[int] | None, set[int] | None]:
    """(server CPUs, load generator CPUs): CPU 1 for the platform, CPU 0 for the load when possible."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[1]}, {cpus[0]}


def raise_fd_limit() -> None:
    """Thousands of sockets on both sides need more than the usual 1024 descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --- (a) health throughput -----------------------------------------------------------------------


def wrk_health(url: str, client_cpus: set[int] | None, connections: int, duration_s: float) -> HealthResult:
    """Run wrk (pinned with taskset when possible) and parse Requests/sec."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration_s:g}s", "--latency", url + "/api/health"]
    if client_cpus and shutil.which("taskset"):
        command = ["taskset", "-c", ",".join(map(str, sorted(client_cpus))), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=duration_s + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non_2xx_match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return HealthResult(
        "wrk", connections, duration_s, rps, int(non_2xx_match.group(1)) if non_2xx_match else 0
    )


async def _client_loop(url: str, connections: int, duration_s: float) -> tuple[int, int]:
    done = bad = 0
    stop_at = time.monotonic() + duration_s
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:

        async def worker() -> None:
            nonlocal done, bad
            while time.monotonic() < stop_at:
                async with session.get(url + "/api/health") as resp:
                    await resp.read()
                    done += 1
                    bad += resp.status != 200

        await asyncio.gather(*(worker() for _ in range(connections)))
    return done, bad


def aiohttp_health(
    url: str, client_cpus: set[int] | None, connections: int, duration_s: float
) -> HealthResult:
    """Fallback load generator when wrk is not installed (slower: it may be the bottleneck)."""
    if client_cpus:
        os.sched_setaffinity(0, client_cpus)
    start = time.monotonic()
    done, bad = asyncio.run(_client_loop(url, connections, duration_s))
    elapsed = time.monotonic() - start
    return HealthResult("aiohttp", connections, round(elapsed, 2), done / elapsed, bad)


# --- (b) concurrent streams ----------------------------------------------------------------------


async def _one_stream(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> tuple[bool, float, float]:
    start = time.monotonic()
    ttft = -1.0
    async with session.post(url + "/api/chat", json=CHAT_BODY, headers=headers) as resp:
        if resp.status != 200:
            return False, 0.0, 0.0
        last = b""
        async for line in resp.content:
            if line.startswith(b"data: "):
                ttft = ttft if ttft >= 0 else time.monotonic() - start
                last = line.strip()
    return last == b"data: [DONE]", (time.monotonic() - start) * 1000, ttft * 1000


async def _watch_in_flight(url: str, stop: asyncio.Event) -> int:
    peak = 0
    async with aiohttp.ClientSession() as session:
        while not stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with session.get(url + "/_admin/stats") as resp:
                    peak = max(peak, (await resp.json())["in_flight"])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
    return peak


async def _all_streams(url: str, count: int) -> tuple[list[Any], int]:
    headers = {**USER_HEADERS, "Accept": "text/event-stream"}
    timeout = aiohttp.ClientTimeout(total=120)
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_in_flight(url, stop))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as session:
        results = await asyncio.gather(
            *(_one_stream(session, url, headers) for _ in range(count)), return_exceptions=True
        )
    stop.set()
    return results, await watcher


def run_streams(
    count: int,
    server_cpus: set[int] | None,
    client_cpus: set[int] | None,
    ttft_ms: int,
    itl_ms: int,
    tokens: int,
) -> StreamResult:
    """Open ``count`` concurrent streaming chats against a pinned platform; count those ending in [DONE]."""
    args = (
        "--slots",
        str(count * 2),
        "--queue",
        str(count * 2),
        "--fixed-ttft-ms",
        str(ttft_ms),
        "--fixed-itl-ms",
        str(itl_ms),
        "--fixed-tokens",
        str(tokens),
    )
    with start_platform(*args, cpus=server_cpus) as platform:
        if client_cpus:
            os.sched_setaffinity(0, client_cpus)
        results, peak = asyncio.run(_all_streams(platform.url, count))
    return summarise(results, peak, ttft_ms + (tokens - 1) * itl_ms)


def summarise(results: list[Any], peak: int, planned_ms: float) -> StreamResult:
    """Completion count and duration / first-token percentiles of the streams that ended in [DONE]."""
    ok = [r for r in results if not isinstance(r, BaseException) and r[0]]
    totals = sorted(r[1] for r in ok) or [0.0]
    ttfts = sorted(r[2] for r in ok) or [0.0]
    return StreamResult(
        streams=len(results),
        completed_with_done=len(ok),
        failed=len(results) - len(ok),
        planned_ms=planned_ms,
        p50_total_ms=round(statistics.median(totals), 1),
        p99_total_ms=round(_p(totals, 0.99), 1),
        max_total_ms=round(totals[-1], 1),
        p50_ttft_ms=round(statistics.median(ttfts), 1),
        p99_ttft_ms=round(_p(ttfts, 0.99), 1),
        peak_in_flight=peak,
    )


def _p(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# --- main ----------------------------------------------------------------------------------------


def measure_health(
    server_cpus: set[int] | None, client_cpus: set[int] | None, connections: int, duration_s: float
) -> HealthResult:
    """(a): health requests per second of a platform pinned to ``server_cpus``."""
    with start_platform("--fixed-latency-ms", "0", cpus=server_cpus) as platform:
        if shutil.which("wrk"):
            return wrk_health(platform.url, client_cpus, connections, duration_s)
        return aiohttp_health(platform.url, client_cpus, connections, duration_s)


def print_table(health: HealthResult, streams: StreamResult, cpus: tuple[Any, Any]) -> None:
    """Human-readable summary."""
    rows = [
        ("platform CPU / load CPU", f"{cpus[0] or 'any'} / {cpus[1] or 'any'}"),
        (
            f"health req/s ({health.tool}, {health.connections} conns, {health.duration_s:g} s)",
            f"{health.requests_per_s:,.0f}",
        ),
        ("health non-2xx", str(health.non_2xx)),
        ("concurrent chat streams opened", str(streams.streams)),
        ("streams completed with [DONE]", str(streams.completed_with_done)),
        ("streams failed", str(streams.failed)),
        ("peak in flight (server view)", str(streams.peak_in_flight)),
        (
            "stream duration planned / p50 / p99 / max ms",
            f"{streams.planned_ms:.0f} / {streams.p50_total_ms:.0f} / {streams.p99_total_ms:.0f} / "
            f"{streams.max_total_ms:.0f}",
        ),
        ("first token p50 / p99 ms", f"{streams.p50_ttft_ms:.0f} / {streams.p99_ttft_ms:.0f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:>20}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Benchmark flags."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="3 s of health load and 500 streams")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--streams", type=int, default=None, help="concurrent chat streams (default 2000)")
    p.add_argument("--duration", type=float, default=None, help="seconds of health load (default 10)")
    p.add_argument("--connections", type=int, default=64, help="health load connections (default 64)")
    p.add_argument("--ttft-ms", type=int, default=1000)
    p.add_argument("--itl-ms", type=int, default=100)
    p.add_argument("--tokens", type=int, default=20)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and report them."""
    args = parse_args(argv)
    streams = args.streams or (500 if args.quick else 2000)
    duration = args.duration or (3.0 if args.quick else 10.0)
    raise_fd_limit()
    server_cpus, client_cpus = cpu_plan()
    health = measure_health(server_cpus, client_cpus, args.connections, duration)
    stream = run_streams(streams, server_cpus, client_cpus, args.ttft_ms, args.itl_ms, args.tokens)
    cpus = (sorted(server_cpus) if server_cpus else None, sorted(client_cpus) if client_cpus else None)
    if args.json:
        print(
            json.dumps(
                {
                    "health": asdict(health),
                    "streams": asdict(stream),
                    "server_cpus": cpus[0],
                    "client_cpus": cpus[1],
                }
            )
        )
    else:
        print_table(health, stream, cpus)
    return 0 if stream.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
