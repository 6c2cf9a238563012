"""Capacity at budget: sweep one scenario's arrival rate to the highest rate every budget holds (README)."""

import locust  # noqa: F401  (gevent monkey-patching first)

from agentload import plugin  # noqa: F401  (wires Locust events to the recorder and the gate)
from agentload.profiles.capacity_run import CapacityShape, CapacityUser

__all__ = ["CapacityShape", "CapacityUser"]
