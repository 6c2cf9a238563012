"""Small helpers the tests share: tools (the venv's copy first), CI detection, free ports, polling.

A test that needs a tool the machine lacks skips on a developer's machine, but fails under CI,
where `.ci/run` and the `[test]` extra install every tool: a skip there would hide the gap.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import pytest

T = TypeVar("T")

FAST = ("--fixed-latency-ms", "intent=20,step=20,chat=20", "--fixed-ttft-ms", "5")
"""The reference platform's flags for fixed, fast answers (20 ms per request, first token at 5 ms)."""

TRACEBACK = "Traceback (most recent call last)"
"""What Python prints first for an uncaught exception: no user-facing error may contain it."""


def find_tool(name: str) -> str | None:
    """The tool next to the running interpreter (the project venv), else from PATH, else None."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def in_ci() -> bool:
    """True under CI: `CI` is "true" or "1" (any case), as CI systems and `.ci/run` set it."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def skip_or_fail(reason: str) -> NoReturn:
    """Something the test needs is missing: fail under CI (where it must be installed), else skip."""
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def require_tool(name: str, installed_by: str) -> str:
    """The path of tool `name`; skips without it (fails under CI), saying what installs it."""
    found = find_tool(name)
    if found is None:
        skip_or_fail(f"{name} is not installed ({installed_by})")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll `condition` until it returns something truthy and return that; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)
