"""Test-only listeners for the harness's generated locustfiles (never part of a normal run).

`install()` registers, on the global Locust events:

* the locust process's RSS when the test starts (before any user exists) and when spawning
  completes, so the harness can compute memory per concurrent user;
* with `BENCH_SERVER_TIMING=1`: per response, the platform's own `Server-Timing` (`app;dur`, and
  `ttft;dur` for streams) next to the latency and TTFT the suite measured for the same request (the
  very values its histograms record) and the request's start time, so the harness can leave out
  the ramp-up (connection bursts the platform's timer cannot see).

At quit it writes one JSON object to `$BENCH_PROBE_OUT`.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from locust import events

_DUR = re.compile(r"(?:^|,)\s*(app|ttft);dur=([\d.]+)")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
STATE: dict[str, Any] = {
    "server": [],
    "client": [],
    "server_ttft": [],
    "client_ttft": [],
    "at": [],
    "ttft_at": [],
}


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (0 where there is no /proc)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except OSError:
        return 0


def server_timing(response: Any) -> dict[str, float]:
    """{"app": ms, "ttft": ms} from the response's Server-Timing header (missing entries left out)."""
    headers = getattr(response, "headers", None)
    value = headers.get("Server-Timing") if headers is not None else None
    return {name: float(ms) for name, ms in _DUR.findall(value or "")}


def on_request(response: Any = None, context: Any = None, exception: Any = None, **kwargs: Any) -> None:
    if exception is not None or response is None:
        return
    timing = server_timing(response)
    sample = (context or {}).get("agentload")
    if "app" in timing:
        STATE["server"].append(timing["app"])
        STATE["client"].append(sample.latency_ms if sample is not None else kwargs.get("response_time", 0.0))
        STATE["at"].append(kwargs.get("start_time", 0.0))
    if "ttft" in timing and sample is not None and sample.ttft_ms is not None:
        STATE["server_ttft"].append(timing["ttft"])
        STATE["client_ttft"].append(sample.ttft_ms)
        STATE["ttft_at"].append(kwargs.get("start_time", 0.0))


def on_test_start(**_: Any) -> None:
    STATE["rss_start"], STATE["test_start"] = rss_bytes(), time.time()


def on_spawned(user_count: int = 0, **_: Any) -> None:
    STATE["rss_spawned"], STATE["spawned_users"] = rss_bytes(), user_count


def on_quitting(**_: Any) -> None:
    STATE["rss_quit"] = rss_bytes()
    out = os.environ.get("BENCH_PROBE_OUT")
    if out:
        with open(out, "w") as file:
            json.dump(STATE, file)


def install() -> None:
    """Register the listeners (Server-Timing collection only with BENCH_SERVER_TIMING=1)."""
    events.test_start.add_listener(on_test_start)
    events.spawning_complete.add_listener(on_spawned)
    events.quitting.add_listener(on_quitting)
    if os.environ.get("BENCH_SERVER_TIMING") == "1":
        events.request.add_listener(on_request)
