"""The benchmark harness end to end at tiny sizes: it runs every tool, prints both tables and its JSON.

`benchmarks/run.py --smoke` runs each side-by-side level once per tool (k6 from `.venv-k6`, which
`make test` installs; bare Locust; agentload) against nginx with the echo module, then the suite's
own two measurements. Figures are not checked: a slow or shared machine may miss any goal, and
benchmarks never fail on that; only that each tool measured each level and every row was made.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from locust_run import ROOT
from tools import skip_or_fail

ITEMS = ("1 throughput", "2 closed loop", "3 open model", "4 streaming TTFT")
ROWS = ("5 open-model fidelity", "6 platform capacity")


ECHO_MODULE = Path("/usr/lib/nginx/modules/ngx_http_echo_module.so")


def require_target() -> None:
    """Skip (fail under CI=true) without nginx and its echo module (Debian's libnginx-mod-http-echo)."""
    if shutil.which("nginx") is None or not ECHO_MODULE.exists():
        skip_or_fail("the benchmark target needs nginx and libnginx-mod-http-echo")


@pytest.mark.slow
def test_smoke_run_measures_every_tool_and_prints_both_tables(tmp_path) -> None:
    require_target()
    out = tmp_path / "reports" / "bench.json"  # a folder that does not exist yet, as in a fresh clone
    command = [sys.executable, "benchmarks/run.py", "--smoke", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    final = done.stdout.rsplit("side by side against", 1)[-1]
    assert "k6 v1.1.0" in final and "bare Locust" in final and "agentload" in final, done.stdout[-3000:]
    for item in (*ITEMS, *ROWS):
        assert item in final, done.stdout[-3000:]
    assert "failed" not in final, done.stdout[-3000:]
    document = json.loads(out.read_text())
    levels = document["side_by_side"]
    assert [level["item"] for level in levels] == list(ITEMS)
    assert "probe on / off" in final and "probe_cost" in levels[0]  # None when no round was quiet
    for level in levels:
        tools = ("k6", "agentload") if level["item"] == "3 open model" else ("k6", "bare", "agentload")
        tools += ("agentload_no_probe",) if level["item"] == "1 throughput" else ()
        for run in level["runs"]:
            assert sorted(run) == sorted(tools), level["item"]
            for tool in tools:
                assert run[tool]["count"] > 0 and run[tool]["errors"] == 0, (level["item"], tool, run[tool])
                assert run[tool]["target_cpu"] is not None, (level["item"], tool)
    assert [r["item"][:1] for r in document["rows"]] == ["5", "6"]
    assert all(r["status"] in ("met", "MISSED", "info") for r in document["rows"])
    assert all(r["commands"] for r in document["rows"]), document["rows"]


def test_an_unwritable_json_path_stops_before_measuring(tmp_path) -> None:
    """`--json` under a file: one line naming it, exit 2, at once rather than after the run."""
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "bench.json"
    command = [sys.executable, "benchmarks/run.py", "--smoke", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"run.py: --json {tmp_path}/file/bench.json: cannot write {tmp_path}/file: File exists"
    ]
