"""The tiny locustfiles the harness writes into its temporary directory, one per kind of measurement.

Each is a few lines on top of the suite's own classes, so what is measured is what a normal run
executes: `from agentload import plugin` registers every listener of a normal run (exact histograms,
budgets, iteration counters, stages, aggregation). `probe` adds the harness's test-only listeners.
Knobs arrive as environment variables (`BENCH_*`), so one file serves every load level.
"""

from __future__ import annotations

BARE_HEALTH = '''\
"""Baseline: a bare Locust FastHttpUser hitting the health endpoint, no agentload listener."""
import probe
from locust import FastHttpUser, constant, task

probe.install()


class BareHealth(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/api/health")
'''

SUITE_HEALTH = '''\
"""The suite's health-check user with every listener of a normal run (BENCH_NO_RECORDING=1: the same
user with exact recording switched off, to price the recording alone)."""
import os

import locust  # noqa: F401
import probe
from agentload import plugin  # noqa: F401
from agentload.traffic import users

probe.install()
if os.environ.get("BENCH_NO_RECORDING"):
    plugin.record_sample = lambda recorder, sample: None


class SuiteHealth(users.HealthCheck):
    wait_time = locust.constant(0)
'''

SUITE_INTENT = '''\
"""The suite's intent user at BENCH_PER_USER_RATE requests/s per user (0: back to back)."""
import os

import locust
import probe
from agentload import plugin  # noqa: F401
from agentload.traffic import users

probe.install()
RATE = float(os.environ.get("BENCH_PER_USER_RATE", "0"))


class SuiteIntent(users.IntentInference):
    wait_time = locust.constant_throughput(RATE) if RATE > 0 else locust.constant(0)
'''

SUITE_CHAT = '''\
"""The suite's streaming chat user, back to back: one open stream per user almost all the time."""
import locust
import probe
from agentload import plugin  # noqa: F401
from agentload.traffic import users

probe.install()


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
