"""The tiny locustfiles the harness writes into its temporary directory, one per kind of measurement.

Each is a few lines on top of the suite's own classes, so what is measured is what a normal run
executes: `from agentload import plugin` registers every listener of a normal run (exact histograms,
budgets, iteration counters, stages, aggregation). `probe` adds the harness's test-only listeners.
Knobs arrive as environment variables (`BENCH_*`), so one file serves every load level.
"""

from __future__ import annotations

BARE = '''\
"""Baselines: bare Locust FastHttpUsers, no agentload listener; knobs from BENCH_* variables."""
import os

import probe
from locust import FastHttpUser, constant, constant_pacing, task

probe.install()
PACE = float(os.environ.get("BENCH_PACE_S", "0"))
BODY = {
    "messages": [{"role": "user", "content": "book a table for two"}],
    "userLocation": {"lat": 1.0, "lng": 2.0},
}


class BareHealth(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/api/health")


class BareIntent(FastHttpUser):
    wait_time = constant_pacing(PACE) if PACE else constant(0)

    def on_start(self):
        probe.spread_start()

    @task
    def intent(self):
        self.client.post("/api/intent", json=BODY)


class BareChat(FastHttpUser):
    """Locust reports a streamed request at its headers, which the target sends with the first token."""

    wait_time = constant(0)

    def on_start(self):
        probe.spread_start()

    @task
    def chat(self):
        response = self.client.post("/api/chat", json={**BODY, "stream": True}, stream=True)
        for _ in response.iter_content(4096):
            pass
'''

SUITE = '''\
"""The suite's own users with every listener of a normal run; knobs from BENCH_* variables.

No spread_start: the suite's users start each spawn batch one by one over its second themselves."""
import os

import locust
import probe
from agentload import plugin  # noqa: F401
from agentload.traffic import users

probe.install()
PACE = float(os.environ.get("BENCH_PACE_S", "0"))


class SuiteHealth(users.HealthCheck):
    wait_time = locust.constant(0)


class SuiteIntent(users.IntentInference):
    wait_time = locust.constant_pacing(PACE) if PACE else locust.constant(0)


class SuiteChat(users.ChatResponse):
    wait_time = locust.constant(0)
'''

OPEN_INTENT = '''\
"""An open-model profile: one arrival-rate scenario of the suite's intent user."""
import os

import locust  # noqa: F401
import probe
from agentload import plugin  # noqa: F401
from agentload import ArrivalRate, ScenarioShape
from agentload.traffic import users

probe.install()
RATE = float(os.environ["BENCH_RATE"])
SECONDS = float(os.environ["BENCH_DURATION_S"])
MAX_IN_FLIGHT = int(os.environ["BENCH_MAX_VUS"])


class OpenIntent(users.IntentInference):
    pass


class BenchOpenShape(ScenarioShape):
    name = "bench_open"
    schedules = {
        OpenIntent: ArrivalRate(rate=RATE, duration_s=SECONDS, max_concurrency=MAX_IN_FLIGHT)
    }
'''

BUDGETS = """\
# Budgets of the harness runs: loose on purpose (a benchmark measures, it does not gate).
budgets:
  - metric: health_check_latency
    stat: p95
    threshold: 1s
  - metric: intent_inference_latency
    stat: p95
    threshold: 30s
  - metric: chat_time_to_first_token
    stat: p95
    threshold: 30s
  - metric: error_rate
    stat: rate
    threshold: 1%
policy:
  inconclusive_fails: false
"""
