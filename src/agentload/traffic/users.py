"""Locust users: one per endpoint, plus the seed's load mix. Each does exactly one request per `act()`.

`act(scheduled_at=None)` is the contract the profiles rely on: closed-loop users call it from
their task; the arrival-rate executor calls it with the time the iteration was due. The users are
abstract: a profile turns them into concrete, named scenario classes.
"""

from __future__ import annotations

import random
from typing import ClassVar

from locust import FastHttpUser, between, task

from agentload.traffic.api import AgentApi
from agentload.traffic.payloads import load_payloads

CHAT_METRICS = (
    "chat_response_latency",
    "chat_time_to_first_token",
    "chat_inter_token_latency",
    "chat_output_tokens",
    "chat_tokens_per_second",
)

LOAD_MIX = (("simple_chat", 50), ("multi_intent", 30), ("intent_parsing", 15), ("health", 5))
"""The seed's traffic mix: 50% simple chat, 30% complex multi-intent, 15% intent parsing, 5% health."""

STRESS_MIX = (("simple_chat", 40), ("multi_intent", 30), ("intent_parsing", 25), ("health", 5))


class AgentUser(FastHttpUser):
    """Base user: settings and payloads come from the plugin's per-process state, never from import."""

    abstract = True
    wait_time = between(0.5, 1.5)
    metrics: ClassVar[tuple[str, ...]] = ()
    """The latency metrics this user produces, so budgets on metrics a profile never sends are skipped."""

    def __init__(self, environment) -> None:
        run = environment.agentload
        self.host = self.host or run.settings.base_url
        self.network_timeout = max(run.settings.timeouts_s.values())
        self.connection_timeout = self.network_timeout
        super().__init__(environment)
        self.rng = random.Random()
        self.api = AgentApi(self.client, run.settings, self.rng)
        self.payloads = load_payloads(run.data_dir)

    def act(self, scheduled_at: float | None = None) -> None:
        raise NotImplementedError

    def context(self) -> dict[str, str]:
        """Every request names its scenario (the concrete class), for the InfluxDB `scenario` tag."""
        return {"scenario": type(self).__name__}

    @task
    def run_once(self) -> None:
        self.act()


class HealthUser(AgentUser):
    abstract = True
    metrics = ("health_check_latency",)

    def act(self, scheduled_at: float | None = None) -> None:
        self.api.health(scheduled_at)


class IntentUser(AgentUser):
    abstract = True
    metrics = ("intent_inference_latency",)

    def act(self, scheduled_at: float | None = None) -> None:
        self.api.intent(self.payloads.pick("intent_utterances", self.rng), scheduled_at)


class StepUser(AgentUser):
    abstract = True
    metrics = ("step_execution_latency",)

    def act(self, scheduled_at: float | None = None) -> None:
        self.api.step(scheduled_at)


class ChatUser(AgentUser):
    abstract = True
    metrics = CHAT_METRICS

    def act(self, scheduled_at: float | None = None) -> None:
        self.api.chat(self.payloads.pick("simple_questions", self.rng), scheduled_at=scheduled_at)


class LoadMixUser(AgentUser):
    """The seed's production-like mix; weights drawn per iteration so proportions hold over a run."""

    abstract = True
    mix = LOAD_MIX
    metrics = (*CHAT_METRICS, "intent_inference_latency", "health_check_latency")

    def act(self, scheduled_at: float | None = None) -> None:
        kind = choose(self.mix, self.rng)
        if kind == "simple_chat":
            self.api.chat(self.payloads.pick("simple_questions", self.rng), scheduled_at=scheduled_at)
        elif kind == "multi_intent":
            self.api.chat(self.payloads.pick("multi_intent_requests", self.rng), scheduled_at=scheduled_at)
        elif kind == "intent_parsing":
            self.api.intent(self.payloads.pick("intent_utterances", self.rng), scheduled_at)
        else:
            self.api.health(scheduled_at)


class StressMixUser(LoadMixUser):
    abstract = True
    mix = STRESS_MIX
    wait_time = between(0.1, 0.5)


def choose(mix: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    """One request kind drawn by weight, independently per iteration."""
    return rng.choices([kind for kind, _ in mix], weights=[weight for _, weight in mix])[0]
