"""The noise guard: is the generator core quiet enough for a figure?

On a shared machine a busy core showed up to +20 ms of false P95 error. So before each round the
harness looks at the generator CPU for a moment (its busy share and its steal: time the hypervisor
gave to another guest), and after each run it compares the core's busy time with the generator
process's own. A run with too much other load is marked busy and left out of the figures.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

QUIET_BUSY = 0.10
"""Share of the generator core others may use, before a round or during a run."""
QUIET_STEAL = 0.02
"""Share of the generator core's time the hypervisor may steal."""


@dataclass(frozen=True)
class CoreLoad:
    """How one CPU was used over a short look: busy share (steal included) and steal share."""

    busy: float
    steal: float

    @property
    def quiet(self) -> bool:
        return self.busy <= QUIET_BUSY and self.steal <= QUIET_STEAL

    def __str__(self) -> str:
        return f"busy {self.busy:.0%}, steal {self.steal:.0%}"


def _times(cpu: int) -> tuple[float, float, float]:
    """(total, idle, steal) seconds of CPU `cpu` since boot."""
    times = psutil.cpu_times(percpu=True)[cpu]
    idle = times.idle + getattr(times, "iowait", 0.0)
    return sum(times), idle, getattr(times, "steal", 0.0)


def core_load(cpu: int | None, seconds: float = 1.0) -> CoreLoad:
    """Look at CPU `cpu` for `seconds`; an unknown CPU reads as quiet (nothing to compare)."""
    if cpu is None:
        time.sleep(seconds)
        return CoreLoad(0.0, 0.0)
    total0, idle0, steal0 = _times(cpu)
    time.sleep(seconds)
    total1, idle1, steal1 = _times(cpu)
    span = max(total1 - total0, 1e-9)
    return CoreLoad(1 - (idle1 - idle0) / span, (steal1 - steal0) / span)


def others_share(core_busy: float | None, own_busy: float | None) -> float | None:
    """Share of the generator core used by anything but the generator process during a run."""
    if core_busy is None or own_busy is None:
        return None
    return max(0.0, core_busy - own_busy)
