"""Running past one machine: a worker that never outlives its master, and a shared cluster key.

`watchdog` stops a worker's users when its master goes silent or its connection closes, so a
killed or frozen master leaves no orphan load. `auth` holds the pure HMAC functions of the cluster
key; `admission` applies them at the edges: the master admits only workers that prove the key and
accepts only histogram reports that carry a valid tag. `install` wires whichever applies.
"""

from __future__ import annotations

from typing import Any

from locust.runners import MasterRunner, WorkerRunner

from agentload.cluster import admission, watchdog


def install(environment: Any) -> None:
    """Called by the plugin once the runner exists; a local runner needs none of this."""
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        admission.install_worker(environment)
        watchdog.install(environment)
    elif isinstance(runner, MasterRunner):
        admission.install_master(environment)
