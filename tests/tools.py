"""Small helpers the tests share: command-line tools (the venv's copy first) and a free loopback port."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path


def find_tool(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else shutil.which(name)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
