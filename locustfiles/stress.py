"""The stress profile: the stress mix at 50, 100 and 200 users, with the breaking-point report."""

import locust  # noqa: F401  (gevent monkey-patching first)

from agentload import plugin  # noqa: F401  (wires Locust events to the recorder and the gate)
from agentload.profiles.catalog import StressShape
from agentload.traffic.users import StressMix

__all__ = ["StressMix", "StressShape"]
