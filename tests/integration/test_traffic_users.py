"""What each of the suite's user classes sends, and that their weights are Locust's own task weights."""

from __future__ import annotations

import itertools
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from locust import FastHttpUser, constant_pacing, task
from locust.env import Environment

from agentload.platform.process import start_platform
from agentload.traffic.users import (
    ChatResponse,
    HealthCheck,
    IntentInference,
    LoadMix,
    StepExecution,
    StressMix,
)

from locust_run import LOCUSTFILES, ROOT, locust_command


@pytest.fixture(scope="module")
def platform() -> Iterator[Any]:
    with start_platform("--fixed-latency-ms", "intent=5,step=5,chat=5", "--fixed-ttft-ms", "5") as proc:
        yield proc


def sent_by(user_class: type, task: Any, platform: Any) -> tuple[Any, dict[str, dict[str, int]]]:
    """Run one task of a real user against the platform: the sample it reported and what was served."""
    environment = Environment(user_classes=[user_class], host=platform.url)
    samples: list[Any] = []
    environment.events.request.add_listener(lambda context=None, **_: samples.append(context["agentload"]))
    platform.reset_stats()
    task(user_class(environment))
    served = {name: counts for name, counts in platform.stats()["requests"].items() if counts}
    (sample,) = samples
    return sample, served


@pytest.mark.parametrize(
    ("user_class", "task", "endpoint", "metric", "streamed"),
    [
        (LoadMix, LoadMix.simple_chat, "chat", "chat_response_latency", True),
        (LoadMix, LoadMix.multi_intent, "chat", "chat_response_latency", True),
        (LoadMix, LoadMix.intent_parsing, "intent", "intent_inference_latency", False),
        (LoadMix, LoadMix.health, "health", "health_check_latency", False),
        (StressMix, LoadMix.simple_chat, "chat", "chat_response_latency", True),
        (IntentInference, IntentInference.intent_parsing, "intent", "intent_inference_latency", False),
        (StepExecution, StepExecution.execute_step, "step", "step_execution_latency", False),
        (ChatResponse, ChatResponse.simple_chat, "chat", "chat_response_latency", True),
        (HealthCheck, HealthCheck.health, "health", "health_check_latency", False),
    ],
)
def test_each_task_sends_one_judged_request(user_class, task, endpoint, metric, streamed, platform) -> None:
    """Each task sends exactly one request to its endpoint, judged OK and named by its metric."""
    sample, served = sent_by(user_class, task, platform)
    assert served == {endpoint: {"200": 1}}
    assert (sample.metric, sample.outcome) == (metric, "ok")
    assert (sample.ttft_ms is not None and sample.output_tokens > 0) is streamed


def task_ratios(locustfile: str) -> dict[str, float]:
    done = subprocess.run(
        locust_command(LOCUSTFILES / locustfile, "--show-task-ratio"),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    total = done.stdout.split("Total task ratio")[-1]
    rows = re.findall(r"^\s+([\d.]+)\s+(\w+)\s*$", total, re.M)
    return {name: float(ratio) for ratio, name in rows if not name.endswith("Mix")}


def test_show_task_ratio_prints_the_load_and_stress_weights() -> None:
    """`locust --show-task-ratio` shows the mixes as @task weights: 50/30/15/5 and 40/30/25/5."""
    load = {"simple_chat": 50, "multi_intent": 30, "intent_parsing": 15, "health": 5}
    stress = {"simple_chat": 40, "multi_intent": 30, "intent_parsing": 25, "health": 5}
    assert (task_ratios("load.py"), task_ratios("stress.py")) == (load, stress)


def test_tags_select_request_kinds() -> None:
    """Locust's tag filter keeps only the tagged tasks of the mix (`--tags intent health`)."""
    tagged = type("TaggedMix", (LoadMix,), {})  # Locust filters a class's tasks in place: not LoadMix's
    Environment(user_classes=[tagged], tags=["intent", "health"])._filter_tasks_by_tags()
    assert sorted({t.__name__ for t in tagged.tasks}) == ["health", "intent_parsing"]
    assert len(LoadMix.tasks) == 100


def first_request_starts(user_class: type, platform: Any, users: int = 20) -> list[float]:
    """Spawn `users` in one batch on a real local runner; the start time of each user's first request."""
    environment = Environment(user_classes=[user_class], host=platform.url)
    firsts: dict[int, float] = {}

    def on_request(context: Any = None, start_time: float = 0.0, **_: Any) -> None:
        firsts.setdefault(id(gevent.getcurrent()), start_time)

    environment.events.request.add_listener(on_request)
    runner = environment.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(1.6)
    runner.quit()
    return sorted(firsts.values())


class PacedIntent(IntentInference):
    wait_time = constant_pacing(2.0)


class BarePaced(FastHttpUser):
    wait_time = constant_pacing(2.0)

    @task
    def health(self) -> None:
        self.client.get("/api/health")


def test_users_of_one_spawn_batch_start_one_by_one_over_its_second(platform) -> None:
    """Locust starts a batch of users in the same instant; the suite's users spread it over a second."""
    bare = first_request_starts(BarePaced, platform)
    suite = first_request_starts(PacedIntent, platform)
    assert len(bare) == len(suite) == 20
    assert bare[-1] - bare[0] < 0.2, bare  # Locust's own batch: every user at once
    assert 0.8 <= suite[-1] - suite[0] < 1.2, suite  # 19 of 20 places over one second
    gaps = [b - a for a, b in itertools.pairwise(suite)]
    assert max(gaps) < 0.2, gaps  # evenly, not in clumps
