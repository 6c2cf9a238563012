"""The real Vercel AI SDK producers of `tests/producers/` (a Node server), started for a test.

The decoder is only right if it reads what the SDK really writes, so these tests run the SDK itself
(`ai`, current major, and `ai@4` as `ai4`) on its mock model with a known schedule. The server
listens on a free port (port 0) and announces it; readiness is polled against a deadline. Without
`node_modules` (`npm ci --prefix tests/producers`) the tests skip, except under CI=true, where a
missing producer is a failure: `.ci/run` installs it.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentload.platform.process import PlatformStartError, http_request, read_ready_line, stop_process

from tools import skip_or_fail

PRODUCERS = Path(__file__).resolve().parent / "producers"
READY_PREFIX = "listening on "


@dataclass(frozen=True)
class Producers:
    url: str
    schedule: dict[str, Any]  # per path: first_token_ms, gap_ms, tokens; and cut_after_chunks

    def timings(self) -> dict[str, dict[str, float]]:
        """Per path, what the server measured where it writes: first_token_ms and gap_ms medians."""
        return http_request(f"{self.url}/timings", timeout=5.0).json()

    def warm_up(self, paths: list[str]) -> None:
        """One full answer per path (V8 compiles the SDK's code on first use), then forget timings."""
        for path in paths:
            http_request(f"{self.url}/{path}/api/chat", "POST", {}, timeout=10.0)
        self.reset_timings()

    def reset_timings(self) -> None:
        http_request(f"{self.url}/timings/reset", "POST", timeout=5.0)


def require_producers() -> None:
    """Skip (fail under CI=true) when node or the installed SDK packages are missing."""
    installed = (PRODUCERS / "node_modules").is_dir()
    needs = {
        "node": shutil.which("node") is not None,
        "tests/producers/node_modules (npm ci --prefix tests/producers)": installed,
    }
    missing = [what for what, present in needs.items() if not present]
    if missing:
        skip_or_fail(f"AI SDK producers need {' and '.join(missing)}")


@contextlib.contextmanager
def start_producers(timeout: float = 30.0) -> Iterator[Producers]:
    """Run `node server.mjs 0` until the block ends; yields its URL and its planned schedule."""
    require_producers()
    proc = subprocess.Popen(["node", "server.mjs", "0"], cwd=PRODUCERS, stdout=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        url = read_ready_line(proc, deadline, READY_PREFIX, "AI SDK producer server")
        yield Producers(url, poll_schedule(url, deadline))
    finally:
        stop_process(proc)


def poll_schedule(url: str, deadline: float) -> dict[str, Any]:
    """GET /schedule until it answers, against `deadline`."""
    while True:
        try:
            return http_request(f"{url}/schedule", timeout=2.0).json()
        except (urllib.error.URLError, ConnectionError) as exc:
            if time.monotonic() > deadline:
                raise PlatformStartError(f"AI SDK producer server not ready at {url}: {exc}") from None
            time.sleep(0.05)
