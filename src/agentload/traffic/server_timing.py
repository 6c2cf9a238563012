"""Reading a response's `Server-Timing` header (W3C Server Timing): where the server spent its time.

`parse_server_timing` is pure and forgiving: a target we do not control may send entries without a
`dur`, quoted descriptions with commas, odd spacing or garbage, and none of that may cost a sample.
Entries without a usable duration are skipped, names are lower-cased, and a name given twice keeps
its first duration (as the spec's processing model says). By this suite's convention `app` is the
server's whole time and `ttft` its first token (both from the request's arrival); every other entry
is a component of the server's time (`queue`, `cache`, `llm`, `db`, `tool` on the reference
platform, any names on another target; see `recording/breakdown.py`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping


def server_timing_of(headers: Mapping[str, str]) -> dict[str, float] | None:
    """A response's parsed `Server-Timing` (headers with case-insensitive names), None if it has none.

    Asked with `in` first: most targets send no Server-Timing, and a missing key costs a caught
    KeyError inside geventhttpclient's `Headers.get`, on every request.
    """
    if "Server-Timing" not in headers:
        return None
    return parse_server_timing(headers["Server-Timing"]) or None


def parse_server_timing(header: str | None) -> dict[str, float]:
    """`"llm;dur=12.5, db;dur=3, app;dur=20"` -> {"llm": 12.5, "db": 3.0, "app": 20.0}."""
    timings: dict[str, float] = {}
    if not header:
        return timings
    for entry in _entries(header):
        name, _, params = entry.partition(";")
        name = name.strip().lower()
        if not name or name in timings:
            continue
        duration = _duration(params)
        if duration is not None:
            timings[name] = duration
    return timings


def _entries(header: str) -> list[str]:
    """Split on commas outside double quotes (a `desc="a, b"` stays whole)."""
    if '"' not in header:
        return header.split(",")
    entries, current, quoted = [], [], False
    for char in header:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            entries.append("".join(current))
            current = []
        else:
            current.append(char)
    entries.append("".join(current))
    return entries


def _duration(params: str) -> float | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() != "dur":
            continue
        try:
            duration = float(value.strip().strip('"'))
        except ValueError:
            return None
        return duration if math.isfinite(duration) and duration >= 0 else None
    return None
