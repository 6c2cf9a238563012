"""The budgets profile: intent and step ramps with an open-model chat at 10/s, 3.5 min (see README)."""

import locust  # noqa: F401  (gevent monkey-patching first)

from agentload import plugin  # noqa: F401  (wires Locust events to the recorder and the gate)
from agentload.profiles.catalog import BudgetShape
from agentload.traffic.users import ChatResponse, IntentInference, StepExecution

__all__ = ["BudgetShape", "ChatResponse", "IntentInference", "StepExecution"]
