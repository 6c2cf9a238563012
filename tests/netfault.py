"""Cut one TCP connection on loopback with nftables, for the tests of faults between hosts.

A real network partition drops packets silently: neither side gets a reset, both just stop hearing
from the other. `cut` reproduces that for one connection, matched by its two ports, with a table
of its own that it creates and always deletes (never touching the machine's other rules). Dropping
on the input hook lets the sender believe its packets left, as on a real network. Needs the `nft`
command (Debian's `nftables`, which CI installs) and root; without them the tests skip, saying why,
except under CI=true, where they fail.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator

import psutil

from tools import skip_or_fail

_tables = itertools.count()


def require_nft() -> str:
    """The nft binary, or skip (fail under CI) saying why the test cannot cut links."""
    nft = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
    reason = None
    if nft is None:
        reason = "nft not installed (Debian package nftables)"
    elif os.geteuid() != 0:
        reason = "cutting a link with nftables needs root"
    else:
        probe = subprocess.run([nft, "list", "tables"], capture_output=True, text=True)
        if probe.returncode != 0:
            reason = f"nft cannot manage rules here: {probe.stderr.strip()[:200]}"
    if reason is not None:
        skip_or_fail(reason)
    return nft


def local_port(pid: int, remote_port: int) -> int | None:
    """The local port of process `pid`'s established TCP connection to 127.0.0.1:`remote_port`."""
    for conn in psutil.Process(pid).net_connections(kind="tcp"):
        if conn.raddr and conn.raddr.port == remote_port and conn.status == psutil.CONN_ESTABLISHED:
            return conn.laddr.port
    return None


@contextlib.contextmanager
def cut(nft: str, port_a: int, port_b: int) -> Iterator[str]:
    """Drop every packet between local ports `port_a` and `port_b` while inside; yields the table name."""
    table = f"agentload_cut_{os.getpid()}_{next(_tables)}"
    rules = f"""table inet {table} {{
  chain input {{
    type filter hook input priority -10; policy accept;
    tcp sport {port_a} tcp dport {port_b} drop
    tcp sport {port_b} tcp dport {port_a} drop
  }}
}}
"""
    subprocess.run([nft, "-f", "-"], input=rules, text=True, check=True, capture_output=True)
    try:
        yield table
    finally:
        subprocess.run([nft, "delete", "table", "inet", table], check=True, capture_output=True)
