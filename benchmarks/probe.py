"""Test-only listeners for the harness's generated locustfiles (never part of a normal run).

`install()` registers, on the global Locust events:

* per request, its start time and the latency the user measured (for the suite's users, the very
  value its histograms record; for a bare user, Locust's `response_time`) and the TTFT when the
  suite measured one; failures are counted, not timed;
* the locust process's RSS when the test starts (before any user exists), for memory per user;
* every garbage collection from test start: its generation and pause (`gc.callbacks`), so a
  figure can say how much of its lateness was the collector's.

The harness takes every percentile from these raw values, the same way for bare Locust and the
suite (Locust's own percentiles are rounded to 2 significant digits). At quit it writes one JSON
object to `$BENCH_PROBE_OUT`.

`spread_start()` gives bare Locust what k6's linear ramp and the suite's staggered batches do:
Locust starts each spawn batch at once, so paced users would fire in step; a random start within
`BENCH_SPREAD_S` spreads them (0: Locust's own batch start, users in step).
"""

from __future__ import annotations

import gc
import json
import os
import random
import time
from typing import Any

import gevent
from locust import events

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
STATE: dict[str, Any] = {"at": [], "latency": [], "ttft_at": [], "ttft": [], "errors": 0, "gc": []}
_GC_STARTED: list[float] = []


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (0 where there is no /proc)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return 0


def on_request(
    response_time: float = 0.0, start_time: float = 0.0, exception: Any = None, context: Any = None, **_: Any
) -> None:
    if exception is not None:
        STATE["errors"] += 1
        return
    sample = (context or {}).get("agentload")
    STATE["at"].append(start_time)
    STATE["latency"].append(sample.latency_ms if sample is not None else response_time)
    if sample is not None and sample.ttft_ms is not None:
        STATE["ttft_at"].append(start_time)
        STATE["ttft"].append(sample.ttft_ms)


def on_gc(phase: str, info: dict[str, Any]) -> None:
    """Each collection as [wall-clock start, generation, pause in ms, objects collected]."""
    if phase == "start":
        _GC_STARTED[:] = [time.time(), time.perf_counter()]
    elif _GC_STARTED:
        at, started = _GC_STARTED
        pause_ms = (time.perf_counter() - started) * 1000
        STATE["gc"].append([at, info.get("generation"), pause_ms, info.get("collected")])


def on_test_start(**_: Any) -> None:
    STATE["rss_start"], STATE["test_start"] = rss_bytes(), time.time()
    gc.callbacks.append(on_gc)


def on_quitting(**_: Any) -> None:
    STATE["rss_quit"] = rss_bytes()
    out = os.environ.get("BENCH_PROBE_OUT")
    if out:
        with open(out, "w") as file:
            json.dump(STATE, file)


def spread_start() -> None:
    """Wait a random part of BENCH_SPREAD_S before the first task (0: start at once)."""
    gevent.sleep(random.uniform(0, float(os.environ.get("BENCH_SPREAD_S", "0"))))


def install() -> None:
    events.test_start.add_listener(on_test_start)
    events.quitting.add_listener(on_quitting)
    events.request.add_listener(on_request)
