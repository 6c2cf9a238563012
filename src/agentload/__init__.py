"""agentload: a Locust-based performance-budget gate and load/stress toolkit.

What a locustfile author needs, importable from here::

    from agentload import AgentUser, Endpoint, Trend, ScenarioShape, ArrivalRate, RampingUsers, Stage

Names are imported on first use, so `agentload platform` (an asyncio server) never imports Locust
and its gevent monkey-patching. `from agentload import plugin` wires the gate into a locustfile.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    # users: the base class for custom scenarios, and the suite's own scenarios
    "AgentUser": "agentload.traffic.users",
    "ChatResponse": "agentload.traffic.users",
    "HealthCheck": "agentload.traffic.users",
    "IntentInference": "agentload.traffic.users",
    "LoadMix": "agentload.traffic.users",
    "StepExecution": "agentload.traffic.users",
    "StressMix": "agentload.traffic.users",
    "AgentSession": "agentload.traffic.sessions",
    # journeys: `with journey("book_table"):` or `@journey("book_table")` in any task
    "journey": "agentload.recording.journeys",
    # endpoints: declare your own, send them with self.api.call(endpoint, json=...)
    "Endpoint": "agentload.traffic.endpoints",
    # custom metrics (k6's k6/metrics)
    "Counter": "agentload.recording.metrics",
    "Rate": "agentload.recording.metrics",
    "Trend": "agentload.recording.metrics",
    # schedules and shapes
    "ArrivalRate": "agentload.profiles.schedule",
    "RampingUsers": "agentload.profiles.schedule",
    "Stage": "agentload.profiles.schedule",
    "ScenarioShape": "agentload.profiles.shape",
    "BudgetShape": "agentload.profiles.catalog",
    "LoadShape": "agentload.profiles.catalog",
    "StressShape": "agentload.profiles.catalog",
    "SessionsShape": "agentload.profiles.catalog",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentload' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
