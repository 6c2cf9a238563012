"""Time windows: which slot of the run a sample lands in, so a budget can say `after: 60s`.

The budgets loaded before the test starts give the window boundaries (seconds on the profile's
clock: `--time-scale` divides them, as it divides stage durations); they reach every process as
plain numbers (`RecordingPlan`, in the options the master sends its workers), so `recording/`
knows no budget. From its own test start each process moves its recorder's `slot` to each
boundary as its clock passes it, in one timer greenlet: the hot path pays nothing, and a slot
changes as many times a run as there are boundaries. A window [after, before) is then the exact
merge of the slots from `after` up to `before`, in every process alike.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gevent

from agentload.recording.recorder import Recorder

PLAN_OPTION = "agentload_plan"
"""The attribute of `parsed_options` that carries the plan: Locust sends the master's custom
options to every worker with each spawn message, before the worker's test_start."""


@dataclass(frozen=True)
class RecordingPlan:
    """What the budgets ask every process to record beside the whole metrics, decided before load.

    `windows`: the window boundaries in seconds, sorted, each > 0; `labels`: the optional sample
    labels some budget names (`user`), which cost a labeled series per sample and are otherwise
    not recorded.
    """

    windows: tuple[float, ...] = ()
    labels: frozenset[str] = frozenset()

    def to_option(self) -> dict[str, list[Any]]:
        return {"windows": list(self.windows), "labels": sorted(self.labels)}

    @classmethod
    def from_option(cls, value: Mapping[str, Any] | None) -> RecordingPlan:
        if not value:
            return cls()
        windows = tuple(sorted({float(bound) for bound in value.get("windows", ())}))
        return cls(windows=windows, labels=frozenset(str(key) for key in value.get("labels", ())))


def slot_at(boundaries: Sequence[float], elapsed_s: float) -> float:
    """The last boundary at or before `elapsed_s` (profile seconds), 0.0 before the first one."""
    index = bisect.bisect_right(boundaries, elapsed_s)
    return boundaries[index - 1] if index else 0.0


def follow(recorder: Recorder, boundaries: Sequence[float], time_scale: float = 1.0) -> Any:
    """From now (this process's test start), move `recorder.slot` to each boundary as it passes.

    Returns the timer greenlet (kill it at test stop), or None when there are no windows.
    """
    recorder.slot = 0.0
    if not boundaries:
        return None
    started = time.monotonic()

    def run() -> None:
        for bound in boundaries:
            gevent.sleep(max(0.0, started + bound / time_scale - time.monotonic()))
            recorder.slot = bound

    return gevent.spawn(run)
