"""The capacity sweep on Locust: `CapacityShape` judges each step, `CapacityUser` sends at its rate.

`locustfiles/capacity.py` declares these two classes. The shape ticks once a second: it labels the
recorder's stage with the step (`step 3: 80/s`), and when the step has run long enough (at least
`MIN_STEP_S`, time-scaled, and until every budget in scope has its `min_samples`, at most
`MAX_STEP_S`) it judges the step on its own samples, asks the pure `CapacitySearch` for the next
rate, and pauses `SETTLE_S` at rate 0 (labelled `settle`) so that requests in flight and the
platform's queue do not leak into the next step. `CapacityUser` is one open-model executor: it
starts one iteration of the chosen scenario's weighted tasks every 1/rate seconds, marked with its
due time (so `<metric>_scheduled` is measured), and drops (and counts) an iteration when
`--capacity-max-concurrency` are in flight. The sweep runs in one process: the rate changes step by
step, which the distributed arrival-rate shares (fixed schedules) do not carry.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import gevent
from gevent.pool import Group
from locust import LoadTestShape, User, task

from agentload.budgets.breaking_point import gating_budgets, stage_snapshot
from agentload.budgets.evaluate import evaluate_budget
from agentload.budgets.model import FAIL, INCONCLUSIVE, Budget
from agentload.budgets.scope import exercised_by, in_scope
from agentload.profiles.capacity import CapacityResult, CapacitySearch, StepResult, goodput
from agentload.profiles.options import time_scale
from agentload.recording.metrics import DURATION
from agentload.recording.recorder import Delta
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
MAX_STEP_S = 60.0
SETTLE_S = 1.0
SETTLE = "settle"


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
        self.rate = 0.0
        self.step = 0
        self.label = SETTLE
        self.started = time.monotonic()
        self.settle_until = 0.0
        self.done = False

    def start_step(self, rate: float) -> None:
        self.step += 1
        self.rate, self.label = rate, f"step {self.step}: {rate:g}/s"
        run_context(self.environment).recorder.stage = self.label
        self.started = time.monotonic()

    def settle(self) -> None:
        self.rate, self.label = 0.0, SETTLE
        run_context(self.environment).recorder.stage = SETTLE
        self.settle_until = time.monotonic() + SETTLE_S / self.scale

    def tick(self) -> bool:
        """Advance the sweep; False once it is over."""
        if self.done:
            return False
        now = time.monotonic()
        if self.label == SETTLE:
            if now < self.settle_until:
                return True
            rate = self.search.next_rate()
            if rate is None:
                self.done = True
                return False
            self.start_step(rate)
            return True
        elapsed = now - self.started
        if elapsed < MIN_STEP_S / self.scale:
            return True
        step = self.judge(elapsed, final=elapsed >= MAX_STEP_S / self.scale)
        if step is not None:
            self.search.record(step)
            self.settle()
        return True

    def judge(self, seconds: float, final: bool) -> StepResult | None:
        """The step's result, or None while a budget still lacks samples (and time remains)."""
        run = run_context(self.environment)
        run.aggregate.merge_wire(run.recorder.drain())
        delta = run.aggregate.stages.get(self.label) or Delta()
        snap = stage_snapshot(delta)
        results = [evaluate_budget(b, snap, self.policy) for b in self.budgets]
        if not final and any(r.status == INCONCLUSIVE for r in results):
            return None
        broken = [r for r in results if r.status in (FAIL, INCONCLUSIVE)]
        dropped = snap.counter("dropped_iterations")
        labels = tuple(r.budget.label for r in broken) + (("dropped_iterations",) if dropped else ())
        observed = {r.budget.label: r.observed for r in broken if r.observed is not None}
        if dropped:
            observed["dropped_iterations"] = float(dropped)
        return StepResult(
            rate_per_s=self.rate,
            seconds=seconds,
            requests=snap.counter("requests"),
            broken=labels,
            observed=observed,
            dropped=dropped,
            goodput_per_s=goodput(latency_ok(delta, self.budgets), seconds),
            p95={m: h.percentile(95) for m, h in delta.histograms.items() if "." not in m and h.count},
        )

    def result(self) -> CapacityResult:
        return self.search.result(self.options.scenario)


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
        return 1, 1.0, [CapacityUser]


def capacity_controller(environment: Any) -> CapacityController:
    """The run's controller, made on first use from the capacity options."""
    run = run_context(environment)
    if run.capacity is None:
        run.capacity = CapacityController(environment, load_capacity(environment.parsed_options))
    return run.capacity


class CapacityUser(User):
    """One open-model executor running the swept scenario's tasks at the controller's rate."""

    fixed_count = 1
    metrics: ClassVar[tuple[str, ...]] = ()

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        controller = capacity_controller(environment)
        base = SCENARIO_USERS[controller.options.scenario]
        scenario = type(base.__name__, (base,), {"concurrency": controller.options.max_concurrency})
        self.delegate = scenario(environment)
        self.controller = controller

    @task
    def _never(self) -> None:  # Locust wants a task; run() below replaces the task loop
        raise NotImplementedError

    def run(self) -> None:
        self.delegate.on_start()
        inflight, limit = Group(), self.controller.options.max_concurrency
        due, step = time.perf_counter(), -1
        while True:
            rate = self.controller.rate
            if rate <= 0 or step != self.controller.step:
                step, due = self.controller.step, time.perf_counter()
                gevent.sleep(0.02)
                continue
            due += 1.0 / rate
            gevent.sleep(max(0.0, due - time.perf_counter()))
            if len(inflight) >= limit:
                self._announce("dropped_iteration", due)
                continue
            self._announce("iteration_started", due)
            inflight.spawn(self._iteration, due)

    def _announce(self, event: str, scheduled_at: float) -> None:
        iteration_event(self.environment, event).fire(scenario="capacity", scheduled_at=scheduled_at)

    def _iteration(self, scheduled_at: float) -> None:
        begin_iteration(scheduled_at)
        delegate = self.delegate
        delegate.rng.choice(delegate.tasks)(delegate)
