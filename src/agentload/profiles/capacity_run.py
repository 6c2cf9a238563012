"""The capacity sweep on Locust: `CapacityShape` judges each step, `CapacityUser` sends at its rate.

`locustfiles/capacity.py` declares these two classes. The shape ticks once a second. At each step
it sets the pace of every process at once (`capacity_pace`: locally, or from the master to every
worker, each running its share of the rate) and labels the samples with the step (`step 3: 80/s`).
A step lasts as long as every budget in scope needs to reach its `min_samples` at that rate (at
least `MIN_STEP_S` divided by `--time-scale`, at most `MAX_STEP_S` whatever the time scale); then
every process's samples are gathered and the step is judged on them: its budgets, iterations
dropped at `max_concurrency`, whether the platform kept up, and whether the generator could drive
it at all (iterations that started late or were dropped overdue). The pure `CapacitySearch` picks
the next rate, and a pause of `SETTLE_S` at rate 0 (labelled `settle`) keeps requests in flight and
the platform's queue out of the next step. `CapacityUser` is one open-model executor per process:
it starts one iteration of the swept scenario's weighted tasks every 1/rate seconds, marked with
its due time (so `<metric>_scheduled` and `iteration_schedule_lag` are measured); an iteration is
dropped, and counted by reason, when `max_concurrency` are in flight (the platform's) or when it is
more than `OVERDUE_S` late (the generator's).
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import gevent
from gevent.pool import Group
from locust import LoadTestShape, User, task
from locust.runners import MasterRunner

from agentload.budgets.breaking_point import gating_budgets, stage_snapshot
from agentload.budgets.capacity import CapacityResult, StepResult
from agentload.budgets.evaluate import default_min_samples, evaluate_budget
from agentload.budgets.model import FAIL, INCONCLUSIVE, Budget, BudgetResult
from agentload.budgets.scope import exercised_by, in_scope
from agentload.profiles.capacity import CapacitySearch, generator_limit, goodput, needed_seconds, shortfall
from agentload.profiles.capacity_pace import SETTLE, Pace, live_workers, pace_link, set_pace
from agentload.profiles.options import time_scale
from agentload.recording.labels import labeled
from agentload.recording.metrics import DURATION
from agentload.recording.recorder import Delta, Snapshot
from agentload.run_context import run_context
from agentload.settings import CapacitySettings, load_capacity
from agentload.traffic.arrival import iteration_event
from agentload.traffic.iteration import begin_iteration
from agentload.traffic.users import ChatResponse, IntentInference, LoadMix, StepExecution

SCENARIO_USERS: dict[str, type] = {
    "intent": IntentInference,
    "step": StepExecution,
    "chat": ChatResponse,
    "load_mix": LoadMix,
}
MIN_STEP_S = 10.0
MAX_STEP_S = 120.0
"""No step runs longer, whatever --time-scale says; a budget still short of samples then breaks it."""
SAMPLE_SLACK = 1.2
"""A step is planned this much longer than its budgets' min_samples take at its rate."""
SETTLE_S = 1.0
OVERDUE_S = 0.5
"""An iteration this late when the executor wakes for it is dropped as overdue: the generator's."""
OVERDUE, AT_MAX_CONCURRENCY = "generator", "max_concurrency"
"""Drop causes, the `cause` label the plugin counts (\"generator\" is what the gate reads too)."""
DROPPED = "dropped_iterations"


def dropped_counter(cause: str) -> str:
    """The labeled series of iterations dropped for `cause`, beside `dropped_iterations`."""
    return labeled(DROPPED, {"cause": cause})


class CapacityController:
    """The sweep's state: the current rate and step, and the search deciding the next one."""

    def __init__(self, environment: Any, options: CapacitySettings) -> None:
        self.environment = environment
        self.options = options
        self.scale = time_scale(environment)
        self.search = CapacitySearch(
            start=options.start_per_s, tolerance=options.tolerance, target=options.target_per_s
        )
        run = run_context(environment)
        scenario = SCENARIO_USERS[options.scenario]
        CapacityUser.metrics = scenario.metrics  # the gate's budget scope is the swept scenario's
        budgets, _ = in_scope(run.budget_file, exercised_by([scenario]))
        self.budgets = gating_budgets(budgets)
        self.policy = budgets.policy
        self.needed = max((_needed(b) for b in self.budgets), default=0)
        self.pace = Pace(max_concurrency=options.max_concurrency)
        self.started = time.monotonic()
        self.planned = 0.0
        self.settle_until = 0.0
        self.done = False

    @property
    def rate(self) -> float:
        return self.pace.rate

    def start_step(self, rate: float) -> None:
        step = self.pace.step + 1
        self.pace = Pace(step, f"step {step}: {rate:g}/s", rate, self.options.max_concurrency)
        set_pace(self.environment, self.pace)
        self.started = time.monotonic()
        self.planned = self.step_seconds(rate)

    def step_seconds(self, rate: float) -> float:
        """How long a step at `rate` runs before it is first judged (see the module docstring)."""
        wanted = SAMPLE_SLACK * needed_seconds(self.needed, rate)
        return min(MAX_STEP_S, max(MIN_STEP_S / self.scale, wanted))

    def settle(self) -> None:
        self.pace = Pace(self.pace.step, SETTLE, 0.0, self.options.max_concurrency)
        set_pace(self.environment, self.pace)
        self.settle_until = time.monotonic() + SETTLE_S / self.scale

    def tick(self) -> bool:
        """Advance the sweep; False once it is over."""
        if self.done:
            return False
        now = time.monotonic()
        if self.pace.label == SETTLE:
            if now < self.settle_until:
                return True
            rate = self.search.next_rate()
            if rate is None:
                self.done = True
                return False
            self.start_step(rate)
            return True
        elapsed = now - self.started
        if elapsed < self.planned:
            return True
        step = self.judge(elapsed, final=elapsed >= MAX_STEP_S)
        if step is not None:
            self.search.record(step)
            self.settle()
        return True

    def judge(self, seconds: float, final: bool) -> StepResult | None:
        """The step's result on every process's samples, or None while a budget still lacks samples."""
        set_pace(self.environment, self.pace, flush=True)
        delta = run_context(self.environment).aggregate.stages.get(self.pace.label) or Delta()
        snap = stage_snapshot(delta)
        results = [evaluate_budget(b, snap, self.policy) for b in self.budgets]
        if not final and any(r.status == INCONCLUSIVE for r in results):
            return None
        return self.step_result(seconds, snap, delta, results)

    def step_result(
        self, seconds: float, snap: Snapshot, delta: Delta, results: list[BudgetResult]
    ) -> StepResult:
        """What the step shows: broken budgets (with reasons in words), drops, throughput, the generator."""
        rate = self.pace.rate
        broken = [r for r in results if r.status in (FAIL, INCONCLUSIVE)]
        labels = [r.budget.label for r in broken]
        why = {r.budget.label: f"{r.reason} in {seconds:.0f} s" for r in broken if r.reason}
        observed = {r.budget.label: r.observed for r in broken if r.observed is not None}
        dropped = snap.counter(dropped_counter(AT_MAX_CONCURRENCY))
        if dropped:
            labels.append(DROPPED)
            observed[DROPPED] = float(dropped)
        started = snap.counter("iterations")
        kept_up = shortfall(rate, seconds, started)
        if kept_up:
            labels.append("throughput")
            why["throughput"] = kept_up
        return StepResult(
            rate_per_s=rate,
            seconds=seconds,
            requests=snap.counter("requests"),
            broken=tuple(labels),
            observed=observed,
            dropped=dropped,
            goodput_per_s=goodput(latency_ok(delta, self.budgets), seconds),
            p95={m: h.percentile(95) for m, h in delta.histograms.items() if "." not in m and h.count},
            started=started,
            why=why,
            generator_limit=_generator_evidence(snap, round(rate * seconds)),
            needed_s=needed_seconds(self.needed, rate),
        )

    def result(self) -> CapacityResult:
        return self.search.result(self.options.scenario)


def _generator_evidence(snap: Snapshot, offered: int) -> str:
    """`generator_limit` on one step's samples: overdue drops and how late iterations started."""
    lag = snap.histograms.get("iteration_schedule_lag")
    late_p95 = lag.percentile(95) if lag is not None and lag.count else None
    return generator_limit(offered, snap.counter(dropped_counter(OVERDUE)), late_p95)


def _needed(budget: Budget) -> int:
    return budget.min_samples if budget.min_samples is not None else default_min_samples(budget)


def latency_ok(delta: Delta, budgets: tuple[Budget, ...]) -> dict[str, int]:
    """Per request metric: successful requests no slower than its tightest "<" latency budget."""
    limits: dict[str, float] = {}
    for budget in budgets:
        if budget.kind == DURATION and budget.comparison == "<" and "." not in budget.metric:
            limits[budget.metric] = min(budget.threshold, limits.get(budget.metric, math.inf))
    requests = {m: h for m, h in delta.histograms.items() if m.endswith("_latency") and "." not in m}
    return {m: (h.count_at_most(limits[m]) if m in limits else h.count) for m, h in requests.items()}


class CapacityShape(LoadTestShape):
    """Sweeps one scenario's arrival rate to the highest rate at which every budget holds."""

    capacity: ClassVar[CapacityResult | None] = None

    def tick(self) -> tuple[int, float] | tuple[int, float, list[type]] | None:
        controller = capacity_controller(self.runner.environment)
        if not controller.tick():
            type(self).capacity = controller.result()
            return None
        processes = len(live_workers(self.runner)) if isinstance(self.runner, MasterRunner) else 1
        return processes, float(processes), [CapacityUser]  # one executor per process


def capacity_controller(environment: Any) -> CapacityController:
    """The run's controller, made on first use from the capacity options."""
    run = run_context(environment)
    if run.capacity is None:
        run.capacity = CapacityController(environment, load_capacity(environment.parsed_options))
    return run.capacity


class CapacityUser(User):
    """One open-model executor per process, running the swept scenario's tasks at its pace."""

    metrics: ClassVar[tuple[str, ...]] = ()

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.link = pace_link(environment)
        base = SCENARIO_USERS[load_capacity(environment.parsed_options).scenario]
        scenario = type(base.__name__, (base,), {"concurrency": self.link.pace.max_concurrency})
        self.delegate = scenario(environment)

    @task
    def _never(self) -> None:  # Locust wants a task; run() below replaces the task loop
        raise NotImplementedError

    def run(self) -> None:
        self.delegate.on_start()
        inflight = Group()
        due, step = time.perf_counter(), -1
        while True:
            pace = self.link.pace
            if pace.rate <= 0 or step != pace.step:
                step, due = pace.step, time.perf_counter()
                gevent.sleep(0.02)
                continue
            due += 1.0 / pace.rate
            gevent.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() - due > OVERDUE_S:
                self._announce("dropped_iteration", due, OVERDUE)
            elif len(inflight) >= pace.max_concurrency:
                self._announce("dropped_iteration", due, AT_MAX_CONCURRENCY)
            else:
                self._announce("iteration_started", due)
                inflight.spawn(self._iteration, due)

    def _announce(self, event: str, scheduled_at: float, cause: str = "") -> None:
        iteration_event(self.environment, event).fire(
            scenario="capacity", scheduled_at=scheduled_at, cause=cause
        )

    def _iteration(self, scheduled_at: float) -> None:
        begin_iteration(scheduled_at)
        delegate = self.delegate
        delegate.rng.choice(delegate.tasks)(delegate)
