"""`agentload healthcheck` (the image's HEALTHCHECK) against a real platform, master and worker."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentload.platform.process import start_platform, stop_process

from locust_run import LOCUSTFILES, ROOT, start_locust
from tools import free_port, wait_until


def healthcheck(pid: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentload.cli", "healthcheck", "--pid", str(pid)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_healthcheck_probes_what_each_role_serves(tmp_path) -> None:
    """Healthy platform, listening master and connected worker; unhealthy once each is gone."""
    port = free_port()
    locustfile = LOCUSTFILES / "budgets.py"
    master_args = ["--master", "--headless", "--expect-workers", "2", "--skip-health-check"]
    master_args += ["--master-bind-host", "127.0.0.1", "--master-bind-port", str(port)]
    worker_args = ["--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    with start_platform() as platform:
        master_args += ["--host", platform.url]
        master = start_locust(locustfile, *master_args, log=tmp_path / "master.out")
        worker = start_locust(locustfile, *worker_args, log=tmp_path / "worker.out")
        try:
            for process, expected in ((platform.process, "platform"), (master, "master"), (worker, "worker")):
                check = wait_until(lambda p=process: healthcheck(p.pid).returncode == 0 or None, 60, expected)
                assert check
                assert healthcheck(process.pid).stdout.startswith(f"healthy: {expected}")
            master.kill()  # gone at once, as after a crash
            master.wait()
            gone = wait_until(lambda: healthcheck(worker.pid).returncode == 1 or None, 30, "worker unhealthy")
            assert gone
            assert healthcheck(master.pid).stdout.startswith("unhealthy: no agentload platform or locust")
        finally:
            for process in (master, worker):
                stop_process(process)
        platform_pid = platform.process.pid
    assert healthcheck(platform_pid).returncode == 1
