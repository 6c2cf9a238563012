"""Per-process state of a run: settings, the recorder, and (on the master or local runner) the aggregate.

It hangs off `environment.agentload`, so users and listeners reach the same objects without
module-level globals, and a worker started without any of our variables still gets defaults.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from agentload.budgets.model import BudgetFile
from agentload.metrics import Aggregate, Recorder, Snapshot
from agentload.settings import Settings


@dataclass
class Suite:
    settings: Settings
    budget_file: BudgetFile | None = None
    recorder: Recorder = field(default_factory=Recorder)
    aggregate: Aggregate = field(default_factory=Aggregate)
    data_dir: str | None = field(default_factory=lambda: os.environ.get("AGENTLOAD_DATA_DIR") or None)
    profile: str = ""
    started_at: float | None = None
    baseline: dict[str, Any] | None = None
    interrupted: str | None = None  # the signal (SIGTERM, SIGINT) that cut the run short

    def snapshot(self, extra_meta: dict[str, Any] | None = None) -> Snapshot:
        """Merge what this process recorded and return the plain-data view of the whole run."""
        self.aggregate.merge_wire(self.recorder.drain())
        ended = time.time()
        meta = {
            "profile": self.profile,
            "host": self.settings.safe_base_url,
            "started_at": self.started_at,
            "ended_at": ended,
            "duration_s": round(ended - self.started_at, 3) if self.started_at else 0.0,
            "time_scale": self.settings.time_scale,
            **(extra_meta or {}),
        }
        return self.aggregate.snapshot(meta)
