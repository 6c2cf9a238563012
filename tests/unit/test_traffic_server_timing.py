"""Server-Timing parsing: the reference platform's headers, and whatever another target may send."""

import pytest

from agentload.traffic.server_timing import parse_server_timing


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, {}),
        ("", {}),
        ("app;dur=12.5", {"app": 12.5}),
        (
            "queue;dur=0.028, cache;dur=4.672, llm;dur=325.251, db;dur=30.278, app;dur=365.204",
            {"queue": 0.028, "cache": 4.672, "llm": 325.251, "db": 30.278, "app": 365.204},
        ),
        (
            'cache;dur=16.9, llm;dur=523, app;dur=540.7;desc="planned", ttft;dur=221.8;desc="planned"',
            {"cache": 16.9, "llm": 523.0, "app": 540.7, "ttft": 221.8},
        ),
        ('db;desc="a, b";dur=3', {"db": 3.0}),  # a comma inside a quoted description
        ("DB;DUR=3", {"db": 3.0}),  # names and parameters are case-insensitive
        ("  llm ; dur = 7 ,app;dur=9", {"llm": 7.0, "app": 9.0}),
        ('llm;dur="7"', {"llm": 7.0}),
        ("miss, app;dur=2", {"app": 2.0}),  # an entry without dur is skipped
        ("llm;dur=abc, app;dur=2", {"app": 2.0}),
        ("llm;dur=-1, llm;dur=nan, llm;dur=inf, app;dur=2", {"app": 2.0}),
        ("llm;dur=1, llm;dur=2", {"llm": 1.0}),  # the first of a repeated name wins
        (",,;dur=1,", {}),
    ],
)
def test_parse_server_timing(header, expected) -> None:
    """Each header gives exactly these durations; garbage never raises."""
    assert parse_server_timing(header) == expected
