"""Running past one machine: a worker that never outlives its master, and a shared cluster key.

`watchdog` stops a worker's users when its master goes silent or its connection closes, so a killed
or frozen master leaves no orphan load. `auth` holds the pure HMAC functions of the cluster key;
`admission` applies them at the edges: the master admits only workers that prove the key and
accepts only histogram reports that carry a valid tag. `spawn_cost` keeps a worker's event loop
from stalling on spawn messages, which would look like a silent master. The plugin calls
`install_master` and `install_worker`; each does nothing on the other kind of runner.
"""

from __future__ import annotations

from typing import Any

from locust.runners import MasterRunner, WorkerRunner

from agentload.cluster import admission, spawn_cost, watchdog


def install_master(environment: Any) -> None:
    """Called by the plugin first thing at `init`: the master already listens, so its gate goes up
    before anything that could yield to the greenlet that takes workers in."""
    if isinstance(environment.runner, MasterRunner):
        admission.install_master(environment)


def install_worker(environment: Any) -> None:
    """Called by the plugin after the merge: a report is tagged after it is filled."""
    if isinstance(environment.runner, WorkerRunner):
        spawn_cost.install()
        admission.install_worker(environment)
        watchdog.install(environment)
