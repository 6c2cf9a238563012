"""Keep a worker's event loop free while it handles spawn messages.

Locust's worker decides which options of a spawn message are custom ones with
`k not in argument_parser.default_args_dict()` inside a comprehension over every option, and
`default_args_dict()` builds and runs Locust's whole argument parser each time: about 2 ms a call,
a quarter of a second of CPU per spawn message on an idle machine and seconds on a loaded one.
Per-scenario schedules send a spawn message at every change, so during a ramp the worker's loop
stalls: it sends no heartbeats and reads no replies, the master calls it missing (the run becomes
incomplete) and its own watchdog sees a silent master. The dict depends only on Locust's own option
definitions (no custom options, no config files), so it is computed once per process; its callers
only read it.
"""

from __future__ import annotations

import functools

from locust import argument_parser


def install() -> None:
    """Cache `default_args_dict` for this process (idempotent)."""
    if not hasattr(argument_parser.default_args_dict, "cache_info"):
        argument_parser.default_args_dict = functools.cache(argument_parser.default_args_dict)
