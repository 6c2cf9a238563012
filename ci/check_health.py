"""Wait until GET $BASE_URL/api/health answers 2xx, for at most --timeout seconds (ci/start-platform.sh).

The URL comes from the environment, never from argv (argv is visible to every process on the
machine), and nothing printed contains it unredacted: credentials in the URL (user:password@host)
are sent as HTTP basic auth and shown as ***. Exit 0 when healthy, 3 when the deadline passed,
2 when BASE_URL is not an http(s) URL. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The health URL without user info, and the headers that carry it instead."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("BASE_URL must be an http(s) URL like https://staging.example.com")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    headers: dict[str, str] = {}
    if parts.username is not None or parts.password is not None:
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    path = parts.path.rstrip("/") + "/api/health"
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", "")), headers


def probe(url: str, headers: dict[str, str], timeout: float) -> str | None:
    """None when the endpoint answered 2xx, else a short reason (no URL in it)."""
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return None if 200 <= reply.status < 300 else f"HTTP {reply.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return type(reason).__name__ if isinstance(reason, BaseException) else str(reason)[:80]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=60.0, help="overall deadline in seconds")
    args = parser.parse_args()
    try:
        url, headers = split_credentials(os.environ.get("BASE_URL", ""))
    except ValueError as exc:
        print(f"check_health: {exc}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.timeout
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        reason = probe(url, headers, timeout=max(1.0, min(10.0, remaining)))
        if reason is None:
            print(f"check_health: /api/health is up (attempt {attempt})", file=sys.stderr)
            return 0
        if time.monotonic() + 1.0 >= deadline:
            print(f"check_health: /api/health not healthy after {args.timeout:g}s: {reason}", file=sys.stderr)
            return 3
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main())
