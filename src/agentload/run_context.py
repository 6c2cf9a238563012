"""Per-process state of one run, hanging off `environment.agentload`.

Users, listeners, the dispatcher and the arrival-rate executor reach the same objects through it,
so nothing is kept in module-level globals keyed by environment, and a worker started without any
of our variables still gets defaults. The master (or local runner) also keeps the aggregate and
the budgets there; workers only record.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentload.budgets.model import BudgetFile
from agentload.recording.recorder import Aggregate, Recorder, Snapshot
from agentload.recording.windows import RecordingPlan
from agentload.settings import Settings, load


@dataclass
class RunContext:
    settings: Settings = field(default_factory=Settings)
    budget_file: BudgetFile | None = None
    recorder: Recorder = field(default_factory=Recorder)
    aggregate: Aggregate = field(default_factory=Aggregate)
    data_dir: str | None = field(default_factory=lambda: os.environ.get("AGENTLOAD_DATA_DIR") or None)
    started_at: float | None = None
    baseline: dict[str, Any] | None = None
    plan: RecordingPlan = field(default_factory=RecordingPlan)
    """What the budgets ask every process to record (window boundaries, optional labels)."""
    window_timer: Any = None
    """The greenlet moving the recorder's window slot (`recording/windows.py`) during a test."""
    interrupted: str | None = None
    """The signal (SIGTERM, SIGINT) that cut the run short."""
    users_given: bool | None = None
    """Whether -u was on the command line (headless Locust sets it to 1 when it was not)."""
    shares: Any = None
    """The arrival-rate executor's `ShareBook` (traffic/arrival.py), made on first use."""
    dispatch: Any = None
    """The dispatcher state that outlives one dispatcher (profiles/dispatcher.py), made on first use."""
    capacity: Any = None
    """The capacity sweep's controller (profiles/capacity_run.py), made on first use."""
    capacity_pace: Any = None
    """The capacity sweep's pace in this process (profiles/capacity_pace.py), made on first use."""

    def snapshot(self, extra_meta: dict[str, Any] | None = None) -> Snapshot:
        """Merge what this process recorded and return the plain-data view of the whole run."""
        self.aggregate.merge_deltas(self.recorder.drain_deltas())
        ended = time.time()
        meta = {
            "host": self.settings.safe_base_url,
            "started_at": self.started_at,
            "ended_at": ended,
            "duration_s": round(ended - self.started_at, 3) if self.started_at else 0.0,
            "time_scale": self.settings.time_scale,
            **(extra_meta or {}),
        }
        return self.aggregate.snapshot(meta)


def run_context(environment: Any) -> RunContext:
    """The environment's run context, made from its options and variables if the plugin did not."""
    context = getattr(environment, "agentload", None)
    if context is None:
        settings = load(getattr(environment, "parsed_options", None), getattr(environment, "host", None))
        context = environment.agentload = RunContext(settings)
    return context


def profile_name(environment: Any) -> str:
    """The shape's profile name, else the locustfile's stem, else "custom"."""
    shape = getattr(environment, "shape_class", None)
    name = getattr(getattr(shape, "profile", None), "name", None)
    if name:
        return str(name)
    locustfile = getattr(getattr(environment, "parsed_options", None), "locustfile", None) or ""
    return Path(str(locustfile).split(",")[0]).stem or "custom"
