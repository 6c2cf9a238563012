"""Journeys in plain Locust users against fixed latencies: wall time, failures, nesting, gevent pools.

The platform answers intents in 100 ms and steps in 50 ms, so each journey's expected duration is
known. Tolerances are generous (the machine is shared): +-25 ms on a median, never less than the
sum of the latencies served.
"""

from __future__ import annotations

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import run_locust

FIXED = ("--fixed-latency-ms", "intent=100,step=50", "--async-step-rate", "0")
LOCUSTFILE = """
import gevent.pool
from locust import FastHttpUser, constant, task

from agentload import journey, plugin  # noqa: F401

USER = {"X-Test-User-Id": "u", "X-Clerk-Id": "c"}
SYSTEM = {"X-Internal-System-Key": "test-key"}
MESSAGE = {"messages": [{"role": "user", "content": "book a table"}]}
STEP = {"executionId": "e", "stepIndex": 1}


class Journeys(FastHttpUser):
    wait_time = constant(0)

    def intent(self):
        self.client.post("/api/intent", json=MESSAGE, headers=USER, name="intent")

    def step(self, headers=SYSTEM):
        self.client.post("/api/webhooks/execute-step", json=STEP, headers=headers, name="step")

    @task
    @journey("booking")
    def booking(self):
        self.intent()
        self.step()
        self.step()

    @task
    def broken(self):
        with journey("broken"):
            self.intent()
            self.step(headers={})  # no system key: 401, the journey fails

    @task
    def nested(self):
        with journey("outer"):
            self.intent()
            with journey("inner"):
                self.step()

    @task
    def fanout(self):
        with journey("fanout"):
            pool = gevent.pool.Pool()
            for _ in range(3):
                pool.spawn(self.step)
            pool.join()
"""
BUDGETS = """
budgets:
  - {metric: booking, stat: p50, threshold: 10s, min_samples: 1}
  - {metric: booking_error_rate, threshold: 100%, min_samples: 1}
"""


def run_journeys(tmp_path, url: str, *args: str):
    (tmp_path / "journeys.py").write_text(LOCUSTFILE)
    (tmp_path / "budgets.yaml").write_text(BUDGETS)
    budgets = ("--budgets", str(tmp_path / "budgets.yaml"))
    users = ("-u", "8", "-r", "8", "-t", "10s")
    report = tmp_path / "r.json"
    return run_locust(tmp_path / "journeys.py", "--host", url, *budgets, *users, *args, report=report)


def check_journeys(report: dict, served: dict) -> None:
    metrics, counters, rates = report["metrics"], report["counters"], report["rates"]
    assert metrics["booking"]["p50"] == pytest.approx(200, abs=25)
    assert metrics["booking"]["min"] >= 200
    assert metrics["booking_request_time"]["p50"] == pytest.approx(200, abs=25)
    assert rates["booking_error_rate"] == 0.0
    assert "broken" not in metrics  # failed journeys stay out of the duration
    assert rates["broken_error_rate"] == 1.0 and counters["broken_error_rate:total"] > 20
    assert counters["outer_error_rate:total"] == counters["inner_error_rate:total"] > 20
    assert metrics["outer"]["p50"] == pytest.approx(150, abs=25)
    assert metrics["inner"]["p50"] == pytest.approx(50, abs=25)
    assert metrics["fanout"]["p50"] == pytest.approx(50, abs=25)  # three steps at once
    assert metrics["fanout_request_time"]["p50"] == pytest.approx(150, abs=25)  # all three credited
    served_total = sum(n for status, n in served["totals"].items() if status.isdigit())
    assert served_total - 16 <= counters["requests"] <= served_total  # in flight at stop: per user
    assert report["slowest"]["booking"][0]["trace_id"] == ""  # plain requests send no trace id


@pytest.mark.slow
@pytest.mark.parametrize("processes", [(), ("--processes", "2")], ids=["local", "processes2"])
def test_journeys_measure_wall_time_failures_nesting_and_pools(tmp_path, processes) -> None:
    """Journey durations match the fixed latencies; failures, nesting and pool requests count right."""
    with start_platform(*FIXED) as platform:
        run = run_journeys(tmp_path, platform.url, *processes)
        served = platform.stats()
    assert run.report is not None, run.output[-3000:]
    validate_report(run.report)
    check_journeys(run.report, served)
    assert run.returncode == 0, run.output[-3000:]
