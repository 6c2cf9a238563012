"""The budgets profile (see README). Thin entry point: everything lives in the agentload package."""

import locust  # noqa: F401  (gevent monkey-patching first)

from agentload import plugin  # noqa: F401  (wires Locust events to the recorder and the gate)
from agentload.profiles import BUDGET, locust_classes

IntentInference, StepExecution, ChatResponse, BudgetShape = locust_classes(BUDGET)
