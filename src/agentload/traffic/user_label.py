"""The `user` label: which user class sent a request, found from the greenlet that sent it.

Locust fires `events.request` in the greenlet that sent the request. A user's greenlet is spawned
with the user as its one argument (`User.start`: `group.spawn(run_user, self)`, gevent keeps it in
`Greenlet.args`), and a greenlet spawned by a task (a `gevent.pool` of parallel tool calls) points
back to its spawner (`spawning_greenlet`), as journeys use. Each greenlet is looked up once. The
plugin asks only when a budget names the label (`RecordingPlan.labels`), so other runs pay nothing.
"""

from __future__ import annotations

import weakref
from typing import Any

from greenlet import getcurrent
from locust import User

_names: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
"""Per greenlet, the name of the user class it runs for ("" when none)."""


def user_class_name() -> str | None:
    """The class name of the Locust user whose greenlet (or whose spawned greenlet) runs now."""
    glet = getcurrent()
    name = _names.get(glet)
    if name is None:
        name = _names[glet] = _find(glet)
    return name or None


def _find(glet: Any) -> str:
    while glet is not None:
        args = getattr(glet, "args", ())
        if args and isinstance(args[0], User):
            return type(args[0]).__name__
        spawner = getattr(glet, "spawning_greenlet", None)
        glet = spawner() if spawner is not None else None
    return ""
