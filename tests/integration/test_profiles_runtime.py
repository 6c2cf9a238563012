"""Profiles on real Locust runners: per-scenario counts follow the schedule, arrival rates hold.

Nothing of Locust is mocked: each test builds a real `Environment` with a `LocalRunner`, or a
`MasterRunner` and two `WorkerRunner`s talking over zmq in this process, and runs a time-scaled
profile against a real HTTP server (the reference platform in a subprocess, or a small gevent WSGI
server here when the test needs to count paths or to be slow on purpose).

Timing tolerances (the machine has 2 cores shared with other test runs): user counts are compared
with the schedule anywhere within +-0.35 s of the sample (Locust ticks once a second and a busy
core delays greenlets), then to within one user; rates are compared over the whole run (1%).
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest
from gevent.pywsgi import WSGIServer
from locust import constant, task
from locust.env import Environment
from locust.event import EventHook

from agentload.platform.process import start_platform
from agentload.profiles import ArrivalRate, RampingUsers, Stage, install
from agentload.profiles.catalog import BudgetShape
from agentload.profiles.schedule import Schedule, scaled, users_at
from agentload.profiles.shape import ScenarioShape
from agentload.traffic.iteration import scheduled_start
from agentload.traffic.users import AgentUser

from tools import wait_until

WINDOW_S = 0.35


class Probe(AgentUser):
    """One GET per task; records (latency from scheduled start, latency from send) when scheduled."""

    abstract = True
    wait_time = constant(0.5)
    path = "/api/health"

    @task
    def hit(self) -> None:
        sent = time.perf_counter()
        self.client.get(self.path, name=self.path)
        done = time.perf_counter()
        scheduled_at = scheduled_start()
        if scheduled_at is not None:
            self.environment.latencies.append((done - scheduled_at, done - sent))


class RampProbe(Probe):
    abstract = True
    path = "/ramp"


class ArriveProbe(Probe):
    abstract = True
    path = "/arrive"


def shape_of(schedules: dict[type, Schedule]) -> type[ScenarioShape]:
    """A shape class declaring `schedules`, as a locustfile would."""
    return type("TestShape", (ScenarioShape,), {"schedules": schedules})


def probe(name: str, base: type = Probe) -> type:
    """A concrete probe user class called `name` (scenarios are named after their classes)."""
    return type(name, (base,), {})


def make_env(shape: type[ScenarioShape], host: str, with_shape: bool = True) -> Environment:
    users = [s.user for s in shape.profile.scenarios]
    env = Environment(user_classes=users, shape_class=shape() if with_shape else None, host=host)
    env.events.iteration_started = EventHook()
    env.events.dropped_iteration = EventHook()
    env.counts = Counter()
    env.latencies = []
    env.events.iteration_started.add_listener(lambda **_: env.counts.update(["started"]))
    env.events.dropped_iteration.add_listener(lambda **_: env.counts.update(["dropped"]))
    return env


def wsgi_server(delay: Callable[[], None] = lambda: None) -> tuple[WSGIServer, Counter]:
    hits: Counter = Counter()

    def app(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        hits[environ["PATH_INFO"]] += 1
        delay()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    return server, hits


def run_shape(runner: Any, every: float = 1.0) -> Iterator[float]:
    """Start the runner's shape and yield its run time about every `every` s until it ends."""
    runner.start_shape()
    shape = runner.environment.shape_class
    while runner.shape_greenlet is not None and not runner.shape_greenlet.dead:
        gevent.sleep(every)
        yield shape.get_run_time()


def run_profile(shape: type[ScenarioShape], host: str, every: float = 1.0) -> Environment:
    """Run `shape` on a real local runner to its end; the environment keeps the probes' counts."""
    env = make_env(shape, host)
    runner = env.create_local_runner()
    install(env)
    for _ in run_shape(runner, every):
        pass
    runner.quit()
    return env


@pytest.fixture
def platform() -> Iterator[Any]:
    with start_platform() as proc:
        yield proc


@pytest.fixture
def time_scale(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    return lambda f: monkeypatch.setenv("AGENTLOAD_TIME_SCALE", str(f))


def budget_with_probes() -> type[ScenarioShape]:
    """The budget shape's schedules, each on a probe class of the scenario's own class name."""
    return shape_of({probe(s.user.__name__): s.schedule for s in BudgetShape.profile.scenarios})


@pytest.mark.slow
def test_budget_counts_follow_each_scenarios_schedule(platform: Any, time_scale: Callable) -> None:
    """Time scale 10 (21 s): sampled every second, each scenario runs its scheduled users within one."""
    time_scale(10)
    shape = budget_with_probes()
    fast = scaled(shape.profile, 10)
    env = make_env(shape, platform.url)
    runner = env.create_local_runner()
    install(env)
    misses, samples = [], 0
    for t in run_shape(runner):
        samples += 1
        counts = runner.user_classes_count
        for name in ("intent_inference", "step_execution"):
            cls = "IntentInference" if name == "intent_inference" else "StepExecution"
            sched = fast.scenario(name).schedule
            near = [users_at(sched, t + d) for d in (-WINDOW_S, 0, WINDOW_S)]
            if not min(near) - 1 <= counts[cls] <= max(near) + 1:
                misses.append((round(t, 2), name, counts[cls], near))
        if 0.5 < t < 20.5:
            assert counts["ChatResponse"] == 1
    runner.quit()
    assert samples >= 18 and not misses
    assert env.counts["started"] == pytest.approx(210, rel=0.01)  # 10/s for 21 s


@pytest.mark.slow
def test_arrival_rate_within_one_percent_on_a_healthy_platform(platform: Any, time_scale: Callable) -> None:
    """20 iterations/s for 200 s at time scale 10: the platform sees 400 requests +-1%, none dropped."""
    time_scale(10)
    shape = shape_of({probe("Steady"): ArrivalRate(rate=20, duration_s=200, max_concurrency=20)})
    env = make_env(shape, platform.url)
    runner = env.create_local_runner()
    install(env)
    platform.reset_stats()
    for _ in run_shape(runner):
        pass
    runner.quit()
    seen = platform.stats()["requests"]["health"]["200"]
    assert seen == pytest.approx(400, rel=0.01)
    assert env.counts["started"] == pytest.approx(400, rel=0.01) and env.counts["dropped"] == 0


def test_ramping_arrival_rate_hits_its_integral(time_scale: Callable) -> None:
    """A 0->40/s ramp over 4 s then 40/s for 1 s starts (40/2)*4 + 40 = 120 iterations."""
    time_scale(1)
    server, hits = wsgi_server()
    rate = ArrivalRate(stages=(Stage(4, 40), Stage(1, 40)), max_concurrency=20)
    url = f"http://127.0.0.1:{server.server_port}"
    env = run_profile(shape_of({probe("Ramp", ArriveProbe): rate}), url, 0.5)
    server.stop()
    assert hits["/arrive"] == env.counts["started"] == pytest.approx(120, abs=1)


def test_overloaded_server_drops_iterations_and_shows_coordinated_omission(time_scale: Callable) -> None:
    """A server that blocks the loop 40 ms per request (25/s) at 50/s: drops, and late starts are measured."""
    time_scale(1)

    def busy() -> None:  # CPU-bound handler: blocks this process's event loop, like a saturated core
        end = time.perf_counter() + 0.04
        while time.perf_counter() < end:
            pass

    server, _hits = wsgi_server(busy)
    rate = ArrivalRate(rate=50, duration_s=5, max_concurrency=4)
    url = f"http://127.0.0.1:{server.server_port}"
    env = run_profile(shape_of({probe("Slow", ArriveProbe): rate}), url, 0.5)
    server.stop()
    assert env.counts["dropped"] > 0
    scheduled, sent = zip(*env.latencies, strict=True)
    assert all(s >= t for s, t in env.latencies)
    assert statistics.mean(scheduled) > statistics.mean(sent) + 0.005


def test_stop_kills_in_flight_iterations_without_recording(time_scale: Callable) -> None:
    """Stopping mid-run ends the coordinator and its in-flight iterations; nothing is recorded after."""
    time_scale(1)
    server, _hits = wsgi_server(lambda: gevent.sleep(5))
    rate = ArrivalRate(rate=20, duration_s=60, max_concurrency=10)
    env = make_env(
        shape_of({probe("Stop", ArriveProbe): rate}),
        f"http://127.0.0.1:{server.server_port}",
    )
    runner = env.create_local_runner()
    install(env)
    runner.start_shape()
    wait_until(lambda: env.counts["started"] >= 5, 15, "5 started iterations", every=0.05)
    runner.stop()
    before = dict(env.counts), len(env.latencies)
    gevent.sleep(0.3)
    assert runner.user_count == 0 and (dict(env.counts), len(env.latencies)) == before
    runner.quit()
    server.stop(timeout=0)


@pytest.mark.slow
def test_master_and_two_workers_split_users_and_the_arrival_rate(time_scale: Callable) -> None:
    """Master + 2 workers: 4 ramping users run 2 per worker, and both coordinators together keep 20/s."""
    time_scale(1)
    server, hits = wsgi_server()
    shape = shape_of(
        {
            probe("Spread", RampProbe): RampingUsers((Stage(2, 4), Stage(8, 4))),
            probe("Arrive", ArriveProbe): ArrivalRate(rate=20, duration_s=10, max_concurrency=10),
        }
    )
    url = f"http://127.0.0.1:{server.server_port}"
    master_env = make_env(shape, url)
    master = master_env.create_master_runner("127.0.0.1", 0)
    install(master_env)
    worker_envs = [make_env(shape, url, with_shape=False) for _ in range(2)]
    workers = [e.create_worker_runner("127.0.0.1", master.server.port) for e in worker_envs]
    for e in worker_envs:
        install(e)
    wait_until(lambda: len(master.clients.ready) == 2, 15, "2 workers ready", every=0.05)
    per_worker = []
    for t in run_shape(master):
        if 4 < t < 9:
            per_worker.append(
                sorted(tuple(sorted(c.user_classes_count.items())) for c in master.clients.values())
            )
    master.quit()
    for w in workers:
        w.quit()
    server.stop()
    assert per_worker and all(p == [(("Arrive", 1), ("Spread", 2))] * 2 for p in per_worker)
    assert hits["/arrive"] == pytest.approx(200, rel=0.01)
    started = [e.counts["started"] for e in worker_envs]
    assert sum(started) == hits["/arrive"] and min(started) >= 95


def test_a_generator_that_falls_behind_counts_what_it_never_started_as_dropped(time_scale: Callable) -> None:
    """100/s for 3 s from a loop blocked 20 ms per request (50/s at most): started + dropped = 300."""
    time_scale(1)

    def busy() -> None:  # CPU-bound handler in this process: the generator's own loop falls behind
        end = time.perf_counter() + 0.02
        while time.perf_counter() < end:
            pass

    server, _hits = wsgi_server(busy)
    rate = ArrivalRate(rate=100, duration_s=3, max_concurrency=1000)  # never full: no drop on launch
    url = f"http://127.0.0.1:{server.server_port}"
    env = run_profile(shape_of({probe("Behind", ArriveProbe): rate}), url, 0.5)
    server.stop()
    assert env.counts["started"] < 250 and env.counts["dropped"] > 50, env.counts
    assert env.counts["started"] + env.counts["dropped"] == pytest.approx(300, abs=3), env.counts
