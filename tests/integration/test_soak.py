"""Soak smoke test: 50 users for 130 s; the load generator's memory and its report stay bounded.

Method: the `locust` process's resident set size is read from /proc every 2 s. The first 20 s are
warm-up (imports, 50 users and their connections being created, first histogram buckets). The
median RSS of the samples taken in [80 s, end) must be within 10% of the median of those taken in
[20 s, 80 s): medians, so one sample taken during a garbage-collection peak cannot decide it.
Histograms are log-linear buckets, so the JSON report's size does not grow with the sample count:
it must stay under 100 KB although thousands of requests were recorded.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from agentload.platform.process import start_platform, stop_process
from agentload.reporting import validate_report

from locust_run import LOCUSTFILES, start_locust
from tools import FAST

RUN_S = 130
WARM_UP_S = 20
SPLIT_S = 80
NO_STEP = """budgets:
  - {metric: intent_inference_latency, stat: p95, threshold: 800ms}
  - {metric: chat_response_latency, stat: p95, threshold: 1.5s}
  - {metric: chat_time_to_first_token, stat: p95, threshold: 500ms}
  - {metric: error_rate, stat: rate, threshold: 1%}
"""


def rss_bytes(pid: int) -> int | None:
    """Resident set size of `pid` from /proc (None once the process is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


@pytest.mark.slow
@pytest.mark.soak
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc (Linux)")
def test_soak_memory_and_report_stay_bounded(tmp_path) -> None:
    """130 s at 50 users: RSS grows < 10% after warm-up, the JSON report stays small, the run passes."""
    report = tmp_path / "report.json"
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(NO_STEP)
    samples: list[tuple[float, int]] = []
    with start_platform(*FAST) as platform:
        args = [
            "--headless", "--only-summary", "--host", platform.url, "-u", "50", "-r", "50",
            "-t", f"{RUN_S}s", "--budgets", str(budgets), "--report-json", str(report),
        ]  # fmt: skip
        started = time.monotonic()
        child = start_locust(LOCUSTFILES / "load.py", *args, log=tmp_path / "locust.out")
        try:
            while child.poll() is None and time.monotonic() - started < RUN_S + 60:
                rss = rss_bytes(child.pid)
                if rss is not None:
                    samples.append((time.monotonic() - started, rss))
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=2)  # the sampling period
            child.wait(timeout=60)
        finally:
            stop_process(child)
        stats = platform.stats()
    assert child.returncode == 0, (tmp_path / "locust.out").read_text()[-3000:]
    document = json.loads(report.read_text())
    validate_report(document)
    requests = document["counters"]["requests"]
    assert requests > 3000 and document["counters"].get("errors", 0) == 0, document["counters"]
    served = sum(n for status, n in stats["totals"].items() if status.isdigit())
    assert abs(served - 1 - requests) <= 60, (requests, stats)  # 1 pre-check; 50 users at the stop

    first = [rss for at, rss in samples if WARM_UP_S <= at < SPLIT_S]
    second = [rss for at, rss in samples if at >= SPLIT_S]
    assert len(first) >= 15 and len(second) >= 15, samples
    growth = statistics.median(second) / statistics.median(first) - 1
    mib = [round(rss / 2**20, 1) for _, rss in samples]
    print(f"RSS median {statistics.median(first) / 2**20:.1f} -> {statistics.median(second) / 2**20:.1f} MiB")
    print(f"growth {growth:.2%}, {requests} requests, report {report.stat().st_size} bytes")
    assert growth < 0.10, f"RSS grew {growth:.1%} after warm-up (MiB every 2 s: {mib})"
    assert report.stat().st_size < 100_000, report.stat().st_size  # histograms, not raw samples
