"""The suite's Locust users: one per endpoint, and the production-like mixes, as plain Locust classes.

Every class here is an ordinary `FastHttpUser` with `@task` methods, so `--show-task-ratio`,
`--tags` and the web UI's class picker work as for any locustfile. `AgentUser` is the base a
locustfile author subclasses: it gives `self.api` (the platform's endpoints, or any `Endpoint`,
judged and recorded exactly) and `self.payloads` (the prompt files). When a shape runs a class on an
`ArrivalRate` schedule, the class's one instance per process becomes the open-model executor and
runs one of its weighted tasks per scheduled iteration (see `traffic/arrival.py`).
"""

from __future__ import annotations

import random
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, between, tag, task

from agentload.run_context import run_context
from agentload.traffic import keepalive, kernel_time
from agentload.traffic.api import AgentApi
from agentload.traffic.arrival import ArrivalExecutor, arrival_schedule
from agentload.traffic.payloads import load_payloads
from agentload.traffic.stagger import join_batch, start_delay

keepalive.install()
kernel_time.install()

CHAT_METRICS = (
    "chat_response_latency",
    "chat_time_to_first_token",
    "chat_inter_token_latency",
    "chat_output_tokens",
    "chat_tokens_per_second",
)


class AgentUser(FastHttpUser):
    """Base user: the platform's API as `self.api`, settings and payloads from the run, not from import."""

    abstract = True
    wait_time = between(0.5, 1.5)
    metrics: ClassVar[tuple[str, ...]] = ()
    """The latency metrics this user produces, so budgets on metrics a profile never sends are skipped."""
    runs_open_model: ClassVar[bool] = True
    """A shape may give this class an ArrivalRate: `run()` then becomes the open-model executor."""

    def __init__(self, environment: Any) -> None:
        run = run_context(environment)
        self.host = self.host or run.settings.base_url
        self.network_timeout = max(run.settings.timeouts_s.values())
        self.connection_timeout = self.network_timeout
        self._arrival = arrival_schedule(environment, type(self))
        if self._arrival is not None:  # one executor shares its client among every iteration
            self.concurrency = self._arrival.max_concurrency
        self._batch, self._place = join_batch()
        super().__init__(environment)
        self.rng = random.Random()
        self.api = AgentApi(self.client, run.settings, self.rng)
        self.payloads = load_payloads(run.data_dir)
        self._context = {"scenario": type(self).__name__}

    def run(self) -> None:
        if self._arrival is not None:
            ArrivalExecutor(self, self._arrival).run()
            return
        gevent.sleep(start_delay(self._place, self._batch.size))  # the batch starts one by one
        super().run()

    def context(self) -> dict[str, str]:
        """Every request names its scenario (the class), for the InfluxDB `scenario` tag.

        Built once: Locust copies it into each request's context, so it is never changed.
        """
        return self._context


class HealthCheck(AgentUser):
    """GET /api/health: the cheapest request, for connectivity and overhead baselines."""

    metrics = ("health_check_latency",)

    @task
    def health(self) -> None:
        self.api.health()


class IntentInference(AgentUser):
    """POST /api/intent with a random utterance: the intent-inference budget."""

    metrics = ("intent_inference_latency",)

    @task
    def intent_parsing(self) -> None:
        self.api.intent(self.payloads.pick("intent_utterances", self.rng))


class StepExecution(AgentUser):
    """POST /api/webhooks/execute-step with a fresh execution id: the step (tool call) budget."""

    metrics = ("step_execution_latency",)

    @task
    def execute_step(self) -> None:
        self.api.step()


class ChatResponse(AgentUser):
    """A streamed chat answer to a simple question: total latency, time to first token, tokens."""

    metrics = CHAT_METRICS

    @task
    def simple_chat(self) -> None:
        self.api.chat(self.payloads.pick("simple_questions", self.rng))


class LoadMix(AgentUser):
    """Production-like traffic: 50% simple chat, 30% multi-intent chat, 15% intent parsing, 5% health."""

    metrics = (*CHAT_METRICS, "intent_inference_latency", "health_check_latency")

    @tag("chat")
    @task(50)
    def simple_chat(self) -> None:
        self.api.chat(self.payloads.pick("simple_questions", self.rng))

    @tag("chat")
    @task(30)
    def multi_intent(self) -> None:
        self.api.chat(self.payloads.pick("multi_intent_requests", self.rng))

    @tag("intent")
    @task(15)
    def intent_parsing(self) -> None:
        self.api.intent(self.payloads.pick("intent_utterances", self.rng))

    @tag("health")
    @task(5)
    def health(self) -> None:
        self.api.health()


class StressMix(AgentUser):
    """The stress mix: LoadMix's tasks weighted 40/30/25/5, with shorter waits."""

    metrics = LoadMix.metrics
    wait_time = between(0.1, 0.5)
    tasks: ClassVar[Any] = {
        LoadMix.simple_chat: 40,
        LoadMix.multi_intent: 30,
        LoadMix.intent_parsing: 25,
        LoadMix.health: 5,
    }
