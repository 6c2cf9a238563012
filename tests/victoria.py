"""Test helper: a real VictoriaMetrics (speaks the InfluxDB write protocol) on a free port, in a subprocess.

The InfluxDB output is only trustworthy if it is tested against a server that parses line protocol
for real; Debian's `victoria-metrics` is one small static binary (CI installs it with apt). It is
started on a port chosen by the OS, polled on `/health` against a deadline (no fixed sleep), and
stopped at the end. Without the binary the tests that need it are skipped, saying why. VictoriaMetrics
stores `<measurement>_<field>` series with the tags as labels (`agentload_requests_count{...}`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agentload.platform.process import stop_process

from tools import free_port, skip_or_fail, wait_until

BINARY = (
    os.environ.get("VICTORIA_METRICS_BIN") or shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
)



@dataclass
class Victoria:
    """A running VictoriaMetrics: its URL, and helpers to read back what was written."""

    url: str
    process: subprocess.Popen[bytes]

    def get(self, path: str, params: dict[str, str] | None = None, timeout: float = 5.0) -> bytes:
        query = "?" + urllib.parse.urlencode(params) if params else ""
        with urllib.request.urlopen(self.url + path + query, timeout=timeout) as reply:
            return bytes(reply.read())

    def export(self, match: str = '{__name__=~"agentload_.*"}') -> list[dict[str, Any]]:
        """Every stored series matching `match` (after a forced flush), as JSON lines."""
        self.get("/internal/force_flush")
        body = self.get("/api/v1/export", {"match[]": match})
        return [json.loads(line) for line in body.decode().splitlines() if line.strip()]

    def export_until(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 15.0, match: str | None = None
    ) -> list[dict[str, Any]]:
        """Poll the export until `done(series)` and return it (new data is searchable within about 1 s)."""

        def finished() -> tuple[list[dict[str, Any]]] | None:
            series = self.export(match) if match else self.export()
            return (series,) if done(series) else None

        (series,) = wait_until(finished, timeout, "the expected series in VictoriaMetrics", every=0.2)
        return series

    def stop(self) -> None:
        stop_process(self.process)


def available() -> bool:
    return os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)


@contextmanager
def start_victoria(timeout: float = 20.0) -> Iterator[Victoria]:
    """Start VictoriaMetrics in a temporary directory; skip if the binary is missing (fail under CI)."""
    if not available():
        skip_or_fail(f"victoria-metrics not installed ({BINARY}); apt-get install victoria-metrics")
    with tempfile.TemporaryDirectory(prefix="victoria-") as data:
        port = free_port()
        args = [BINARY, f"-httpListenAddr=127.0.0.1:{port}", f"-storageDataPath={data}", "-loggerLevel=ERROR"]
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        server = Victoria(f"http://127.0.0.1:{port}", process)
        try:
            wait_until(lambda: _healthy(server), timeout, "victoria-metrics to be healthy", every=0.05)
            yield server
        finally:
            server.stop()


def _healthy(server: Victoria) -> bool:
    """True once /health answers OK; raises if the process has already exited."""
    if server.process.poll() is not None:
        err = server.process.stderr.read().decode(errors="replace")[-500:] if server.process.stderr else ""
        raise RuntimeError(f"victoria-metrics exited with {server.process.returncode}: {err}")
    try:
        return server.get("/health", timeout=1.0).strip() == b"OK"
    except (urllib.error.URLError, OSError):
        return False
