"""The cluster key end to end: only workers that prove it join, and nothing else reaches the verdict.

A master and two workers share `AGENTLOAD_CLUSTER_KEY`. Three more processes try to join: a real
worker with a wrong key, a real worker with none, and a hand-written process that answers the
challenge with a wrong key and then ships fabricated reports (1,000 fake intent samples each), a
fabricated final flush and reports claiming to be another worker. The verdict must count exactly
what the two genuine workers measured (their own sample logs and the platform's counters), the
refused ones are named on both sides, and the key appears in no output or report.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from agentload.platform.process import start_platform, stop_process
from agentload.reporting import validate_report

from cluster_run import LENIENT, Cluster
from locust_run import LOCUSTFILES, ROOT, locust_command, locust_env
from tools import FAST, free_port

ROGUE = Path(__file__).resolve().parents[1] / "rogue_worker.py"
REFUSED_LINE = re.compile(r"the master refused this worker \((\S+)\): (.+)")


def start_rogue(port: int, rogue_id: str, key: str, seconds: str, mode: str) -> subprocess.Popen:
    """The hand-written hostile worker (tests/rogue_worker.py); it prints what it receives."""
    command = [sys.executable, str(ROGUE), "127.0.0.1", str(port), rogue_id, key, seconds, mode]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)


@pytest.mark.slow
def test_workers_without_the_key_are_refused_and_fabricated_reports_never_count(tmp_path) -> None:
    """Wrong-key, keyless and forging joiners are refused by name; the verdict counts only real samples."""
    key = "ck-" + secrets.token_hex(16)
    wrong = "wrong-" + secrets.token_hex(16)
    rogue_id = "rogue_" + secrets.token_hex(8)
    env = {"AGENTLOAD_CLUSTER_KEY": key, "LOCUST_LOGLEVEL": "DEBUG"}  # give a leak every chance to show
    with start_platform(*FAST) as platform:
        cluster = Cluster(
            tmp_path, platform.url, LENIENT, workers=2, time_scale="20", env=env
        )
        wrong_worker = cluster.add_worker({"AGENTLOAD_CLUSTER_KEY": wrong})
        keyless_worker = cluster.add_worker({"AGENTLOAD_CLUSTER_KEY": ""})
        rogue = start_rogue(cluster.port, rogue_id, wrong, "8", "forge")
        try:
            code, output = cluster.wait(timeout=120)
            rogue_output, _ = rogue.communicate(timeout=30)
            for joiner in (wrong_worker, keyless_worker):
                joiner.wait(timeout=30)
            stats = platform.stats()
        finally:
            for process in (rogue, wrong_worker, keyless_worker):
                stop_process(process)
    assert code == 0, output[-4000:]
    report = cluster.json()
    validate_report(report)

    # Refused on the worker side: one line each, exit code 2.
    for joiner, reason in ((wrong_worker, "wrong cluster key"), (keyless_worker, "it holds no cluster key")):
        joiner_output = cluster.output(joiner)
        (match,) = REFUSED_LINE.findall(joiner_output)
        assert match[1].startswith(reason), joiner_output[-2000:]
        assert joiner.returncode == 2, joiner_output[-2000:]
        assert f"refused worker {match[0]}: {reason}" in output
    # The rogue was challenged, refused and told to quit; its claim to be another worker was dropped.
    assert rogue_output.split()[:3] == ["ack", "agentload_challenge", "agentload_refused"], rogue_output
    assert f"refused worker {rogue_id}: wrong cluster key" in output
    assert f"dropped a stats from {rogue_id} claiming to be someone_else" in output

    # The verdict counts exactly the genuine workers' samples.
    latencies = cluster.logged_latencies()
    assert report["metrics"]["intent_inference_latency"]["count"] == len(latencies)
    served = sum(n for status, n in stats["totals"].items() if status.isdigit())
    assert abs(served - report["counters"]["requests"]) <= stats.get("in_flight", 0) + 20
    assert report["incomplete"] == []

    everything = [output, rogue_output, cluster.report.read_text()]
    everything += [cluster.output(p) for p in (*cluster.workers, wrong_worker, keyless_worker)]
    for text in everything:
        assert key not in text and wrong not in text


@pytest.mark.slow
def test_a_tampered_report_gets_its_worker_refused_mid_run(tmp_path) -> None:
    """A key holder whose report fails the tag check is refused by name; that report never counts."""
    key = "ck-" + secrets.token_hex(16)
    rogue_id = "tamperer_" + secrets.token_hex(8)
    report = tmp_path / "report.json"
    (tmp_path / "budgets.yaml").write_text(LENIENT)
    port = free_port()
    command = locust_command(
        LOCUSTFILES / "budgets.py",
        *("--master", "--headless", "--expect-workers", "1"),
        *("--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)),
        *("--host", "http://127.0.0.1:9", "--skip-health-check"),
        *("--budgets", str(tmp_path / "budgets.yaml")),
        *("--report-json", str(report), "--only-summary"),
    )
    env = locust_env({"AGENTLOAD_CLUSTER_KEY": key})
    master = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env
    )
    rogue = start_rogue(port, rogue_id, key, "20", "tamper")
    try:
        output, _ = master.communicate(timeout=60)
    finally:
        rogue.kill()
        rogue_output, _ = rogue.communicate()
        stop_process(master)
    assert master.returncode == 3, output[-4000:]
    assert f"refused worker {rogue_id}: stats report with a bad cluster key tag" in output
    assert "agentload_refused" in rogue_output.split(), rogue_output
    verdict = json.loads(report.read_text())
    assert verdict["counters"]["requests"] == 7  # the honest report counts, the tampered one does not
    reason = f"refused worker {rogue_id} mid-run: stats report with a bad cluster key tag"
    assert reason in verdict["incomplete"]
    assert key not in output and key not in report.read_text()
