"""`agentload demo` and `agentload platform` as a newcomer runs them."""

from __future__ import annotations

import subprocess
import sys

from locust_run import ROOT


def test_demo_says_in_one_line_why_the_platform_did_not_start() -> None:
    """A platform that cannot start ends the demo with exit 3 and one line naming the reason."""
    done = subprocess.run(
        [sys.executable, "-m", "agentload.cli", "demo", "--", "--slots", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 3
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        "agentload demo: the reference platform did not start: platform exited with status 2 "
        "before listening: agentload platform: error: --slots -1 must be >= 1"
    ]


def test_platform_help_lists_its_flags() -> None:
    """`agentload platform --help` documents capacity, fault and timing flags."""
    done = subprocess.run(
        [sys.executable, "-m", "agentload.cli", "platform", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    for flag in (
        "--slots",
        "--queue",
        "--error-rate",
        "--latency-scale",
        "--stall-rate",
        "--truncate-rate",
        "--reset-rate",
        "--fixed-ttft-ms",
        "--stream-format",
    ):
        assert flag in done.stdout, flag
