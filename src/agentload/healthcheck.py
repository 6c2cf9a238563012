"""`agentload healthcheck`: the image's HEALTHCHECK, for whichever of its three roles it runs.

One image runs the reference platform, a Locust master or a Locust worker, so a fixed probe would
mark two of them unhealthy. The check reads the main process's command line, decides its role with
a pure function, and probes what that role serves: the platform answers `GET /api/health`, the
master accepts connections on its worker port, a worker holds an established connection to its
master. It prints one line and exits 0 (healthy) or 1.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from dataclasses import dataclass

import psutil

DEFAULT_PLATFORM_PORT = 3000
DEFAULT_MASTER_PORT = 5557
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Role:
    kind: str  # platform, master, worker or local
    port: int | None = None  # what to probe: the platform's port, the master's (bind) port


def _option(argv: list[str], name: str, default: int) -> int:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return int(argv[i + 1])
        if arg.startswith(name + "="):
            return int(arg.split("=", 1)[1])
    return default


def role_of(argv: list[str]) -> Role | None:
    """The role of a process from its command line, or None when it is none of ours."""
    words = [os.path.basename(arg) for arg in argv[:3]]
    if ("agentload" in words and "platform" in argv) or "agentload.platform" in words:
        return Role("platform", _option(argv, "--port", DEFAULT_PLATFORM_PORT))
    if not any(word == "locust" or word.startswith("locust") for word in words):
        return None
    if "--master" in argv:
        return Role("master", _option(argv, "--master-bind-port", DEFAULT_MASTER_PORT))
    if "--worker" in argv:
        return Role("worker", _option(argv, "--master-port", DEFAULT_MASTER_PORT))
    return Role("local")


def find_main_process() -> psutil.Process | None:
    """The lowest-numbered process of ours in this container (not this check or its parents)."""
    skip = {os.getpid(), *(parent.pid for parent in psutil.Process().parents())}
    candidates = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["pid"] not in skip and role_of(cmdline) is not None:
            candidates.append(process)
    return min(candidates, key=lambda p: p.pid, default=None)


def listening_port(process: psutil.Process) -> int | None:
    """The TCP port the process listens on (the platform started with `--port 0`)."""
    for conn in process.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN:
            return conn.laddr.port
    return None


def probe(process: psutil.Process, role: Role) -> str | None:
    """None when the role's service answers, else why not."""
    try:
        if role.kind == "platform":
            port = role.port or listening_port(process)
            url = f"http://127.0.0.1:{port}/api/health"
            with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_S) as reply:
                return None if reply.status == 200 else f"{url} answered {reply.status}"
        if role.kind == "master":
            socket.create_connection(("127.0.0.1", role.port), timeout=PROBE_TIMEOUT_S).close()
            return None
        if role.kind == "worker":
            for conn in process.net_connections(kind="tcp"):
                if conn.raddr and conn.raddr.port == role.port and conn.status == psutil.CONN_ESTABLISHED:
                    return None
            return f"no connection to a master on port {role.port}"
    except (OSError, psutil.Error) as exc:
        return f"{role.kind} on port {role.port}: {exc}"
    return None


def main(pid: int | None = None) -> int:
    try:
        process = psutil.Process(pid) if pid is not None else find_main_process()
        role = role_of(process.cmdline()) if process is not None else None
    except psutil.Error:
        process, role = None, None
    if process is None or role is None:
        print("unhealthy: no agentload platform or locust process found")
        return 1
    reason = probe(process, role)
    if reason is not None:
        print(f"unhealthy: {reason}")
        return 1
    print(f"healthy: {role.kind}" + (f" on port {role.port}" if role.port else ""))
    return 0
