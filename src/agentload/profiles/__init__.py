"""Load profiles: schedules as pure data and maths, the shape that runs them, the dispatcher, the executor.

A locustfile declares a shape as a class (`ScenarioShape` with one schedule per user class); the
suite's own three are in `catalog`. Importing this package registers nothing with Locust;
`install(environment)` does, at `init` (the plugin calls it).
"""

from agentload.profiles.dispatcher import install
from agentload.profiles.schedule import ArrivalRate, Profile, RampingUsers, Scenario, Stage
from agentload.profiles.shape import ScenarioShape

__all__ = ["ArrivalRate", "Profile", "RampingUsers", "Scenario", "ScenarioShape", "Stage", "install"]
