"""The benchmarks' nginx target (nginx with the echo module: exact, fast) for the tests that need it.

`benchmarks/target.py` owns the target; this only puts `benchmarks/` on the import path and turns
a missing nginx or echo module into a skip (a failure under CI=true, where `.ci/run` installs both).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from locust_run import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from target import Plan, missing, nginx_target  # benchmarks/ is on the path only now

__all__ = ["Plan", "nginx_target", "require_echo_target"]


def require_echo_target() -> None:
    """Skip (fail under CI=true) without nginx and its echo module (Debian's libnginx-mod-http-echo)."""
    reason = "nginx is not installed" if shutil.which("nginx") is None else missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)
