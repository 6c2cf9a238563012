"""The load profile: the production-like mix (@task weights 50/30/15/5) from 10 to 50 users, 16 min."""

import locust  # noqa: F401  (gevent monkey-patching first)

from agentload import plugin  # noqa: F401  (wires Locust events to the recorder and the gate)
from agentload.profiles.catalog import LoadShape
from agentload.traffic.users import LoadMix

__all__ = ["LoadMix", "LoadShape"]
