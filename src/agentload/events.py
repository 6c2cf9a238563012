"""Custom Locust events the suite adds to `environment.events`, made on first use.

The open-model executor announces its iterations (`iteration_started`, `dropped_iteration`) and
the generator's health probe its values (`generator_health`); the plugin and the InfluxDB listener
subscribe. Whoever asks first creates the hook, so the order in which they are installed does not
matter, and a hook is never replaced once listeners hold it.
"""

from __future__ import annotations

from typing import Any

from locust.event import EventHook


def custom_event(environment: Any, name: str) -> EventHook:
    """The named event of `environment`, created on first use and never replaced."""
    hook = getattr(environment.events, name, None)
    if hook is None:
        hook = EventHook()
        setattr(environment.events, name, hook)
    return hook
