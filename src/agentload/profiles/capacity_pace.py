"""The capacity sweep's pace in every process: the master changes every worker's rate at once.

The sweep's controller runs where the shape runs (the local runner, or the master). `set_pace`
applies a step (its number, stage label and rate) to this process and, on a master, sends every
worker its share with the custom message `agentload_capacity_pace` ({"step", "label", "rate",
"max_concurrency", "flush"}; rate and concurrency divided by the number of workers). A worker files
its samples under the step's label (the recorder's stage key), so a report that arrives late still
lands in the right step. With "flush" the worker answers at once with everything it recorded
(`agentload_capacity_flushed`, as the final FLUSH of `recording/merge.py` does), and the master
waits (bounded) for every answer before the step is judged: a step is judged on all of its samples,
not on those the 3 s worker reports happened to bring.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.runners import MasterRunner, WorkerRunner

from agentload.recording.merge import REPORT_KEY
from agentload.run_context import run_context

PACE_MESSAGE = "agentload_capacity_pace"
FLUSHED_MESSAGE = "agentload_capacity_flushed"
FLUSH_WAIT_S = 5.0
SETTLE = "settle"


@dataclass
class Pace:
    """What this process's capacity user runs: the step's number, stage label, rate and concurrency."""

    step: int = 0
    label: str = SETTLE
    rate: float = 0.0
    max_concurrency: int = 500


@dataclass
class PaceLink:
    """This process's pace, and (on a master) the workers whose flush is awaited."""

    pace: Pace = field(default_factory=Pace)
    pending: set[str] = field(default_factory=set)


def pace_link(environment: Any) -> PaceLink:
    """The run's pace link (created on first use)."""
    run = run_context(environment)
    if run.capacity_pace is None:
        run.capacity_pace = PaceLink()
    return run.capacity_pace


def _apply(environment: Any, pace: Pace) -> None:
    pace_link(environment).pace = pace
    run_context(environment).recorder.stage = pace.label


def install(environment: Any) -> None:
    """Register the pace messages on this process's runner: a worker follows, a master collects."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):

        def on_pace(environment: Any, msg: Any, **_: Any) -> None:
            data = msg.data
            _apply(environment, Pace(data["step"], data["label"], data["rate"], data["max_concurrency"]))
            if data.get("flush"):
                drained = run_context(environment).recorder.drain()
                runner.send_message(FLUSHED_MESSAGE, {"client_id": runner.client_id, REPORT_KEY: drained})

        runner.register_message(PACE_MESSAGE, on_pace)
    elif isinstance(runner, MasterRunner):

        def on_flushed(environment: Any, msg: Any, **_: Any) -> None:
            run_context(environment).aggregate.merge_wire(msg.data[REPORT_KEY])
            pace_link(environment).pending.discard(msg.data["client_id"])

        runner.register_message(FLUSHED_MESSAGE, on_flushed)


def live_workers(runner: Any) -> list[str]:
    """The ids of the workers that can take load now, in a stable order."""
    return sorted(w.id for w in runner.clients.all if w.state not in ("missing", "stopped"))


def set_pace(environment: Any, pace: Pace, flush: bool = False) -> list[str]:
    """Run `pace` in every process; with `flush`, gather every process's samples into the aggregate.

    Returns the workers whose flush did not arrive within FLUSH_WAIT_S (their samples come later,
    with their regular reports).
    """
    _apply(environment, pace)
    run = run_context(environment)
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        if flush:
            run.aggregate.merge_deltas(run.recorder.drain_deltas())
        return []
    workers = live_workers(runner)
    link = pace_link(environment)
    if flush:
        link.pending = set(workers)
    share = max(1, len(workers))
    for worker_id in workers:
        data = {
            "step": pace.step,
            "label": pace.label,
            "rate": pace.rate / share,
            "max_concurrency": math.ceil(pace.max_concurrency / share),
            "flush": flush,
        }
        runner.send_message(PACE_MESSAGE, data, client_id=worker_id)
    deadline = time.monotonic() + FLUSH_WAIT_S
    while flush and link.pending and time.monotonic() < deadline:
        gevent.sleep(0.01)
    return sorted(link.pending) if flush else []
