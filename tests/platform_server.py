"""Test helper: run the reference platform in a subprocess (re-exports ``agentload.platform.process``).

The implementation lives in the package so that benchmarks and demos can use it too; import it from
either place::

    from agentload.platform.process import start_platform   # works everywhere
    from platform_server import start_platform              # when tests/ is on sys.path

``start_platform(*args, system_key="test-key", timeout=20.0, env=None, cpus=None)`` starts
``python -m agentload.platform --host 127.0.0.1 --port 0 *args``, waits for the "listening on" line
and returns a ``PlatformProcess`` with ``.url``, ``.port``, ``.request(method, path, body, headers)``,
``.stats()``, ``.reset_stats()``, ``.faults()``, ``.set_faults(**kw)``, ``.clear_faults()``,
``.stderr_text()`` and ``.stop()``; it is also a context manager. ``USER_HEADERS`` holds valid user
identity headers for ``/api/intent`` and ``/api/chat``.
"""

from agentload.platform.process import (
    USER_HEADERS,
    PlatformProcess,
    PlatformStartError,
    Reply,
    http_request,
    start_platform,
)

__all__ = ["USER_HEADERS", "PlatformProcess", "PlatformStartError", "Reply", "http_request", "start_platform"]
