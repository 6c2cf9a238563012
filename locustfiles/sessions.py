"""The sessions profile: whole agent sessions (intent, steps, answer, 4 follow-ups), 10 then 20 at once."""

import locust  # noqa: F401  (gevent monkey-patching first)

from agentload import plugin  # noqa: F401  (wires Locust events to the recorder and the gate)
from agentload.profiles.catalog import SessionsShape
from agentload.traffic.sessions import AgentSession

__all__ = ["AgentSession", "SessionsShape"]
