"""Parsers for the values people write in budgets.yaml and on the command line: `800ms`, `1%`, `10%`.

They are pure and small so that every option that takes a duration or a fraction parses it the
same way and says the same thing when it cannot: each raises ValueError with a one-line message of
the form `must be a duration like 800ms (got "fast")`, which callers prefix with where the value
came from (`budgets.yaml:7: budgets[2].threshold: ...`, `--time-scale: ...`).

Every parser accepts a str or a number (int or float, as YAML or argparse produce them) and refuses
booleans, NaN, infinities and numbers too large for a float.
"""

from __future__ import annotations

import math
import re

_DURATION_MS = {
    "us": 0.001,
    "µs": 0.001,
    "μs": 0.001,
    "ms": 1.0,
    "s": 1000.0,
    "m": 60_000.0,
    "h": 3_600_000.0,
}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_DURATION_RE = re.compile(rf"({_NUMBER})\s*(us|µs|μs|ms|s|m|h)?")
_PERCENT_RE = re.compile(rf"({_NUMBER})\s*(%)?")
_COUNT_RE = re.compile(r"[-+]?\d+")
_MAX_TEXT = 100  # nothing sensible is longer; refusing early keeps the regexes cheap on junk
_MAX_QUOTE = 40


def quote(value: object) -> str:
    """`value` as a short, double-quoted, single-line string for an error message."""
    text = str(value)
    if len(text) > _MAX_QUOTE:
        text = text[:_MAX_QUOTE] + "..."
    escaped = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)
    return '"' + escaped.replace('"', '\\"') + '"'


def parse_duration(text: str | float) -> float:
    """A duration in milliseconds: `800ms`, `2s`, `1.5s`, `250us`, `1m`, `1h`; a bare number is ms."""
    value, unit = _split(text, _DURATION_RE, "a duration like 800ms")
    return _non_negative(value * _DURATION_MS[unit or "ms"], text)


def parse_rate(text: str | float) -> float:
    """A rate as a fraction in [0, 1]: `1%` or `0.01`.

    A bare number must be below 1, so that `threshold: 1` (meant as 1%) is refused instead of
    silently allowing every request to fail; write `100%` if that is really meant.
    """
    expected = "a rate like 1% or 0.01"
    value, percent = _split(text, _PERCENT_RE, expected)
    fraction = value / 100 if percent else value
    if not percent and fraction >= 1:
        raise ValueError(f"must be {expected} (a bare number is a fraction below 1; got {quote(text)})")
    if fraction > 1:
        raise ValueError(f"must be {expected}, at most 100% (got {quote(text)})")
    return _non_negative(fraction, text)


def parse_margin(text: str | float) -> float:
    """A relative margin as a fraction in [0, 1): `10%` or `0.1`."""
    expected = "a margin like 10% or 0.1"
    value, percent = _split(text, _PERCENT_RE, expected)
    fraction = value / 100 if percent else value
    if fraction >= 1:
        raise ValueError(f"must be {expected}, below 100% (got {quote(text)})")
    return _non_negative(fraction, text)


def parse_count(text: str | int) -> int:
    """A whole number >= 0: `0`, `25`. Floats such as 2.5 are refused; 3.0 is accepted as 3."""
    expected = "a whole number like 0 or 25"
    if isinstance(text, float) and math.isfinite(text) and text.is_integer():
        text = int(text)
    if isinstance(text, bool) or not isinstance(text, int | str):
        raise ValueError(f"must be {expected} (got {quote(text)})")
    if isinstance(text, str):
        stripped = text.strip()
        if len(stripped) > _MAX_TEXT or not _COUNT_RE.fullmatch(stripped):
            raise ValueError(f"must be {expected} (got {quote(text)})")
        text = int(stripped)
    if text > 2**53:
        raise ValueError(f"must be {expected}, at most 2**53 (got {quote(text)})")
    return int(_non_negative(text, text))


def parse_number(text: str | float) -> float:
    """A plain finite number: `20`, `2.5`."""
    value, _ = _split(text, re.compile(f"({_NUMBER})()"), "a number like 20 or 2.5")
    return value


def _split(text: str | float, pattern: re.Pattern[str], expected: str) -> tuple[float, str]:
    """(number, unit) from a str matching `pattern` or from a plain number (unit "")."""
    message = f"must be {expected} (got {quote(text)})"
    if isinstance(text, bool) or not isinstance(text, int | float | str):
        raise ValueError(message)
    if isinstance(text, str):
        stripped = text.strip()
        match = pattern.fullmatch(stripped) if len(stripped) <= _MAX_TEXT else None
        if match is None:
            raise ValueError(message)
        number, unit = match.group(1), match.group(2) or ""
    else:
        number, unit = text, ""
    try:
        value = float(number)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise ValueError(f"must be {expected}, a finite number (got {quote(text)})")
    return value, unit


def _non_negative(value: float, text: object) -> float:
    if value < 0:
        raise ValueError(f"must not be negative (got {quote(text)})")
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number (got {quote(text)})")
    return value
