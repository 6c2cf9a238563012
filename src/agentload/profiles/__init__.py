"""Load profiles: schedules as pure data and maths, the shape that runs them, the dispatcher, the stages.

A locustfile declares a shape as a class (`ScenarioShape`, in `shape`, with one schedule per user
class); the suite's own are in `catalog`. Importing this package registers nothing with Locust;
`install(environment)` does, at `init` (the plugin calls it). Only the pure schedules are imported
here: the open-model executor (`traffic/arrival.py`) reads them, and the dispatcher talks to it.
"""

from typing import Any

from agentload.profiles.schedule import ArrivalRate, Profile, RampingUsers, Scenario, Stage


def install(environment: Any) -> None:
    """The dispatcher's listeners (`dispatcher.install`), imported on use to keep this package light."""
    from agentload.profiles.dispatcher import install as install_dispatcher

    install_dispatcher(environment)


__all__ = ["ArrivalRate", "Profile", "RampingUsers", "Scenario", "Stage", "install"]
