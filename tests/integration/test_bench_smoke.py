"""The benchmark harness end to end at tiny sizes: it runs, prints all five rows and writes its JSON.

`benchmarks/run.py --smoke` runs every measurement for a few seconds (real locust subprocesses, the
reference platform, nginx when installed). Figures are not checked: a slow or shared machine may
miss any goal, and benchmarks never fail on that; only that each row was measured.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from locust_run import ROOT

ROWS = (
    "1 throughput ratio",
    "2 timing accuracy",
    "3 streaming scale",
    "4 open-model fidelity",
    "5 platform capacity",
)


@pytest.mark.slow
def test_smoke_run_prints_five_rows_and_json(tmp_path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "benchmarks/run.py", "--smoke", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = done.stdout.rsplit("measurement", 1)[-1]
    for row in ROWS:
        assert row in table, done.stdout[-3000:]
    assert "failed" not in table, done.stdout[-3000:]
    assert "nproc=" in done.stdout and "CPU" in done.stdout
    document = json.loads(out.read_text())
    assert [r["item"][:1] for r in document["rows"]] == ["1", "2", "3", "4", "5"]
    assert document["machine"]["nproc"] >= 1
    assert all(r["status"] in ("met", "MISSED", "info") for r in document["rows"])
    assert all(r["commands"] for r in document["rows"]), document["rows"]
