"""The InfluxDB output end to end: real `locust` runs, the reference platform, and VictoriaMetrics.

Only a real line-protocol server shows that the points parse, that no request is lost between
Locust's request event and the database (the sum of `count` must equal Locust's own request count),
and that a dead server costs the run nothing but one warning line and a counted number of drops.
VictoriaMetrics stores `<measurement>_<field>` series with the tags as labels.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentload.platform.process import start_platform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from locust_run import locust_command, locust_env
from tools import free_port
from victoria import Victoria, start_victoria

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-token-value"

LOCUSTFILE = textwrap.dedent(
    """
    import locust
    from locust import constant

    from agentload import plugin  # noqa: F401  (wires the InfluxDB output when --influx-url is given)
    from agentload.traffic import users


    class Health(users.HealthCheck):
        wait_time = constant(0.05)


    class Intent(users.IntentInference):
        wait_time = constant(0.05)
    """
)

ARRIVAL_LOCUSTFILE = textwrap.dedent(
    """
    import locust

    from agentload import ArrivalRate, ScenarioShape, plugin  # noqa: F401
    from agentload.traffic import users


    class Arrivals(users.IntentInference):
        pass


    class ArrivalShape(ScenarioShape):  # 40/s against ~10/s of capacity: most iterations drop
        schedules = {Arrivals: ArrivalRate(rate=40, duration_s=5, max_concurrency=2)}
    """
)


@pytest.fixture(scope="module")
def platform() -> Iterator[Any]:
    with start_platform("--fixed-latency-ms", "5") as running:
        yield running


def run_locust(
    tmp_path: Path,
    host: str,
    influx_url: str,
    seconds: int = 6,
    during: Any = None,
    locustfile: str = LOCUSTFILE,
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    """`locust --headless` with the influx options; returns the process result and Locust's JSON stats."""
    (tmp_path / "locustfile.py").write_text(locustfile)
    load = ("-u", "4", "-r", "4", "-t", f"{seconds}s") if locustfile == LOCUSTFILE else ()
    args = locust_command(
        "locustfile.py",
        *("--headless", *load),
        *("--host", host, "--budgets", str(ROOT / "budgets.yaml"), "--report-only"),
        *("--report-json", "report.json"),
        *("--skip-health-check", "--json-file", "stats", "--influx-url", influx_url),
        *("--influx-org", "agentload", "--influx-bucket", "perf"),
    )
    env = locust_env({"INFLUX_TOKEN": TOKEN, "AGENTLOAD_RUN_ID": f"it-{time.time_ns()}"})
    process = subprocess.Popen(
        args, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    helper = threading.Thread(target=during, args=(process,)) if during else None
    if helper:
        helper.start()
    stdout, stderr = process.communicate(timeout=seconds + 60)
    if helper:
        helper.join()
    result = subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
    stats = json.loads((tmp_path / "stats.json").read_text()) if (tmp_path / "stats.json").exists() else []
    return result, stats


def total(series: list[dict[str, Any]], name: str, **labels: str) -> float:
    return sum(
        sum(s["values"])
        for s in series
        if s["metric"]["__name__"] == name and all(s["metric"].get(k) == v for k, v in labels.items())
    )


def test_every_request_arrives_with_its_tags(tmp_path: Path, platform: Any) -> None:
    """A 6 s run: sum(count) equals Locust's request count, tags are set, users points exist."""
    with start_victoria() as victoria:
        result, stats = run_locust(tmp_path, platform.url, victoria.url)
        assert result.returncode == 0, result.stderr[-2000:]
        expected = sum(entry["num_requests"] for entry in stats)
        assert expected > 100
        series = victoria.export_until(lambda s: total(s, "agentload_requests_count") >= expected)
    assert total(series, "agentload_requests_count") == expected
    requests = [s["metric"] for s in series if s["metric"]["__name__"] == "agentload_requests_count"]
    assert {m["scenario"] for m in requests} == {"Health", "Intent"}
    assert {m["metric"] for m in requests} == {"health_check_latency", "intent_inference_latency"}
    assert {m["worker"] for m in requests} == {"local"} and len({m["profile"] for m in requests}) == 1
    assert {m["status_class"] for m in requests} <= {"ok", "error", "shed"} and len(
        {m["run_id"] for m in requests}
    ) == 1
    assert max(max(s["values"]) for s in series if s["metric"]["__name__"] == "agentload_users_users") == 4
    assert total(series, "agentload_users_arrival_rate") > 0
    assert TOKEN not in result.stdout + result.stderr
    assert "influx: cannot write" not in result.stderr
    summary = [line for line in result.stderr.splitlines() if line.startswith("influx: ")]
    assert len(summary) == 1 and re.fullmatch(
        r"influx: [\d,]+ points written to http://127\.0\.0\.1:\d+", summary[0]
    )


def test_server_stopped_mid_run(tmp_path: Path, platform: Any) -> None:
    """VictoriaMetrics dies 2.5 s into a 6 s run: exit code 0, one warning, drops reported at the end."""
    with start_victoria() as victoria:

        def kill_victoria(_: subprocess.Popen[str], server: Victoria = victoria) -> None:
            time.sleep(2.5)
            server.stop()

        started = time.monotonic()
        result, stats = run_locust(tmp_path, platform.url, victoria.url, during=kill_victoria)
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.monotonic() - started < 6 + 15
    assert sum(entry["num_requests"] for entry in stats) > 100
    warnings = [line for line in result.stderr.splitlines() if "influx: cannot write" in line]
    assert len(warnings) == 1, result.stderr[-2000:]
    summary = [line for line in result.stderr.splitlines() if line.startswith("influx: ")]
    assert len(summary) == 1 and "points dropped (server unreachable: " in summary[0]
    assert int(summary[0].split()[1].replace(",", "")) > 0
    assert TOKEN not in result.stdout + result.stderr


def test_closed_port_from_the_start(tmp_path: Path, platform: Any) -> None:
    """Nothing listens on the influx URL: the run is unaffected and every point is counted as dropped."""
    result, stats = run_locust(tmp_path, platform.url, f"http://user:pw-{TOKEN}@127.0.0.1:{free_port()}", 3)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sum(entry["num_requests"] for entry in stats) > 50
    assert len([line for line in result.stderr.splitlines() if "influx: cannot write" in line]) == 1
    assert "points dropped (server unreachable: connection refused); 0 written" in result.stderr
    assert TOKEN not in result.stdout + result.stderr and "pw-" not in result.stderr


def test_arrival_rate_iterations_and_drops_arrive(tmp_path: Path) -> None:
    """An open-model run with drops: InfluxDB's dropped_iterations and arrival_rate match the recorder's."""
    with start_platform("--fixed-latency-ms", "intent=200") as slow, start_victoria() as victoria:
        result, _ = run_locust(tmp_path, slow.url, victoria.url, locustfile=ARRIVAL_LOCUSTFILE)
        assert result.returncode == 0, result.stderr[-2000:]
        counters = json.loads((tmp_path / "report.json").read_text())["counters"]
        started, dropped = counters["iterations"], counters["dropped_iterations"]
        assert started + dropped == pytest.approx(200, abs=1) and dropped > 100
        series = victoria.export_until(lambda s: total(s, "agentload_users_dropped_iterations") >= dropped)
    assert total(series, "agentload_users_dropped_iterations") == dropped
    # arrival_rate is iterations per second of each 1 s interval: summed over intervals, the iterations
    assert total(series, "agentload_users_arrival_rate") == pytest.approx(started, rel=0.05)
