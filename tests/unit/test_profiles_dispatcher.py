"""The ScenarioDispatcher decides who runs where; its distributions are checked without any runner."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from locust import User, task
from locust.dispatch import UsersDispatcher
from locust.env import Environment
from locust.runners import WorkerNode

from agentload.profiles import dispatcher
from agentload.profiles.dispatcher import (
    LOCUST_INTERNALS,
    ScenarioDispatcher,
    TargetList,
    distribute,
    install,
    missing_locust_internals,
    ramp_slices,
    run_state,
)
from agentload.profiles.schedule import ArrivalRate


class Intent(User):
    @task
    def noop(self) -> None: ...


class Step(User):
    @task
    def noop(self) -> None: ...


class Chat(User):
    """Runs on an arrival rate in every plan below: one executor per worker."""

    @task
    def noop(self) -> None: ...


ARRIVALS = {"Chat": ArrivalRate(rate=1, duration_s=10, max_concurrency=4)}


CLASSES = {"Intent": Intent, "Step": Step, "Chat": Chat}


def workers(n: int) -> list[WorkerNode]:
    return [WorkerNode(f"host_{i}") for i in range(n)]


def dispatch(d: ScenarioDispatcher, targets: dict[str, int] | None, ramp_s: float = 0.0) -> list[dict]:
    plan = None if targets is None else TargetList(CLASSES, targets, ramp_s, 0.0, arrivals=ARRIVALS)
    d.new_dispatch(sum((targets or {}).values()), 50.0, plan)
    return list(d)


def totals(dist: dict[str, dict[str, int]]) -> dict[str, int]:
    return {n: sum(w[n] for w in dist.values()) for n in next(iter(dist.values()))}


def test_one_worker_gets_the_exact_targets_at_once() -> None:
    """With one (local) worker every scenario's target is dispatched in a single step."""
    d = ScenarioDispatcher(workers(1), list(CLASSES.values()))
    steps = dispatch(d, {"Intent": 5, "Step": 3, "Chat": 1})
    assert steps == [{"host_0": {"Intent": 5, "Step": 3, "Chat": 1}}]
    assert not d.dispatch_in_progress


def test_three_workers_split_each_class_evenly_with_one_coordinator_each() -> None:
    """10 intent and 5 step users over 3 workers: per-class spread <= 1, totals within 1, 1 Chat each."""
    d = ScenarioDispatcher(workers(3), list(CLASSES.values()))
    (dist,) = dispatch(d, {"Intent": 10, "Step": 5, "Chat": 1})
    assert totals(dist) == {"Intent": 10, "Step": 5, "Chat": 3}
    for name in ("Intent", "Step"):
        counts = [w[name] for w in dist.values()]
        assert max(counts) - min(counts) <= 1
    sizes = [w["Intent"] + w["Step"] for w in dist.values()]
    assert max(sizes) - min(sizes) <= 1
    assert all(w["Chat"] == 1 for w in dist.values())
    assert d.shares == {"host_0": (0, 3), "host_1": (1, 3), "host_2": (2, 3)}


def test_distribution_is_deterministic() -> None:
    """The same history gives the same distribution."""
    runs = []
    for _ in range(2):
        d = ScenarioDispatcher(workers(3), list(CLASSES.values()))
        dispatch(d, {"Intent": 7, "Step": 4, "Chat": 1})
        runs.append(dispatch(d, {"Intent": 8, "Step": 2, "Chat": 1}))
    assert runs[0] == runs[1]


def test_small_changes_move_few_users() -> None:
    """Adding one intent user changes exactly one worker's intent count and nothing else."""
    d = ScenarioDispatcher(workers(3), list(CLASSES.values()))
    (before,) = dispatch(d, {"Intent": 4, "Step": 2, "Chat": 1})
    (after,) = dispatch(d, {"Intent": 5, "Step": 2, "Chat": 1})
    changed = [(w, n) for w in before for n in before[w] if before[w][n] != after[w][n]]
    assert len(changed) == 1 and changed[0][1] == "Intent"


def test_ramp_yields_intermediate_distributions() -> None:
    """A ramp over ramp_s yields one distribution per user added, each within 1 of the straight line."""
    d = ScenarioDispatcher(workers(1), list(CLASSES.values()))
    steps = dispatch(d, {"Intent": 4, "Step": 2, "Chat": 0}, ramp_s=0.2)
    assert [s["host_0"]["Intent"] for s in steps] == [1, 2, 3, 4]
    assert [s["host_0"]["Step"] for s in steps] == [1, 1, 2, 2]  # 0.5 rounds half up


def test_ramp_slices_offsets_and_cap() -> None:
    """Slices sit at (j - 1/2) * ramp / n; more than MAX_SLICES changes share slices."""
    assert ramp_slices({"A": 0}, {"A": 2}, 1.0) == [(0.25, {"A": 1}), (0.75, {"A": 2})]
    assert ramp_slices({"A": 3}, {"A": 3}, 1.0) == [(0.0, {"A": 3})]
    assert ramp_slices({"A": 0}, {"A": 5}, 0.0) == [(0.0, {"A": 5})]
    big = ramp_slices({"A": 0}, {"A": 100}, 1.0, max_slices=25)
    assert len(big) == 25 and big[-1][1] == {"A": 100}


def test_add_worker_rebalances_and_keeps_targets() -> None:
    """After add_worker the runner restarts without user classes; targets survive and spread to 4 workers."""
    nodes = workers(3)
    d = ScenarioDispatcher(nodes[:2], list(CLASSES.values()))
    dispatch(d, {"Intent": 9, "Step": 3, "Chat": 1})
    d.add_worker(nodes[2])
    d.add_worker(WorkerNode("host_3"))
    (dist,) = dispatch(d, None)
    assert totals(dist) == {"Intent": 9, "Step": 3, "Chat": 4}
    assert sorted(w["Intent"] for w in dist.values()) == [2, 2, 2, 3]
    assert d.shares["host_3"] == (3, 4)


def test_remove_worker_moves_its_users_to_the_others() -> None:
    """A worker that leaves takes no targets with it."""
    nodes = workers(3)
    d = ScenarioDispatcher(nodes, list(CLASSES.values()))
    dispatch(d, {"Intent": 10, "Step": 5, "Chat": 1})
    d.remove_worker(nodes[1])
    (dist,) = dispatch(d, None)
    assert set(dist) == {"host_0", "host_2"}
    assert totals(dist) == {"Intent": 10, "Step": 5, "Chat": 2}
    assert d.shares == {"host_0": (0, 2), "host_2": (1, 2)}


def test_rebalance_during_a_dispatch_is_yielded() -> None:
    """add_worker while a ramp is in progress makes the dispatcher yield the rebalanced distribution too."""
    nodes = workers(2)
    d = ScenarioDispatcher(nodes[:1], list(CLASSES.values()))
    plan = TargetList(CLASSES, {"Intent": 2, "Step": 0, "Chat": 1}, 0.0, arrivals=ARRIVALS)
    d.new_dispatch(3, 50.0, plan)
    first = next(d)
    d.add_worker(nodes[1])
    second = next(d)
    assert set(first) == {"host_0"} and set(second) == {"host_0", "host_1"}
    assert totals(second)["Intent"] == 2
    with pytest.raises(StopIteration):
        next(d)


def test_plain_starts_use_locust_default_dispatch() -> None:
    """A plain list of classes (class picker, other shapes) is dispatched by weight as Locust does."""
    d = ScenarioDispatcher(workers(2), [Intent, Step])
    d.new_dispatch(4, 100.0, [Intent, Step])
    dist = list(d)[-1]
    assert totals(dist) == {"Intent": 2, "Step": 2}
    assert not d.profile_mode


def test_unknown_scenarios_are_skipped_not_fatal() -> None:
    """If the class picker left a scenario's class out, its target is ignored with a warning."""
    d = ScenarioDispatcher(workers(1), [Intent])
    (dist,) = dispatch(d, {"Intent": 2, "Step": 3, "Chat": 1})
    assert dist == {"host_0": {"Intent": 2}}


def test_fresh_dispatcher_reuses_targets_of_the_running_profile() -> None:
    """The master drops its dispatcher when a worker goes missing; the bound one recovers the plan."""
    env = Environment(user_classes=list(CLASSES.values()))
    bound = install(env)
    shape = object()
    env.shape_class = shape  # type: ignore[assignment]  # identity is all the dispatcher checks
    first = bound(workers(2), list(CLASSES.values()))
    targets = {"Intent": 4, "Step": 1, "Chat": 1}
    first.new_dispatch(5, 50.0, TargetList(CLASSES, targets, 0.0, source=shape, arrivals=ARRIVALS))
    list(first)
    fresh = bound(workers(2), list(CLASSES.values()))
    fresh.new_dispatch(6, 50.0, None)
    assert totals(list(fresh)[-1]) == {"Intent": 4, "Step": 1, "Chat": 2}
    env.shape_class = None
    assert run_state(env).plan is not None
    plain = bound(workers(2), list(CLASSES.values()))
    plain.new_dispatch(2, 100.0, None)
    assert not plain.profile_mode


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_distribute_invariants_over_random_histories(n: int) -> None:
    """Over many target changes, per-class spread and total spread stay <= 1 and sums are exact."""
    dist: dict[str, Any] = {}
    ids = [f"w{i}" for i in range(n)]
    for a, b in itertools.product(range(0, 13, 3), range(0, 8, 2)):
        dist = distribute(dist, {"A": a, "B": b}, ids, {"C": 1})
        assert sum(w["A"] for w in dist.values()) == a and sum(w["B"] for w in dist.values()) == b
        for name in ("A", "B"):
            assert max(w[name] for w in dist.values()) - min(w[name] for w in dist.values()) <= 1
        sizes = [w["A"] + w["B"] for w in dist.values()]
        assert max(sizes) - min(sizes) <= 1
        assert all(w["C"] == 1 for w in dist.values())


def test_installed_locust_has_every_internal_the_dispatcher_uses() -> None:
    """A Locust upgrade that drops a private UsersDispatcher attribute fails here, by name."""
    assert missing_locust_internals() == (), "Locust changed: the dispatcher needs these attributes"
    locusts = UsersDispatcher(worker_nodes=[], user_classes=[Intent])
    used = set(re.findall(r"self\.(_[a-z_]+)", Path(dispatcher.__file__).read_text()))
    unlisted = {name for name in used if hasattr(locusts, name)} - set(LOCUST_INTERNALS)
    assert not unlisted, f"list these in LOCUST_INTERNALS: {sorted(unlisted)}"
