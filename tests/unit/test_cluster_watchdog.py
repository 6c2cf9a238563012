"""When a worker counts its master as lost: silence past the timeout, or a closed connection, but
never the time its own event loop was stuck."""

from types import SimpleNamespace

import pytest

from agentload.cluster import spawn_cost
from agentload.cluster.watchdog import DISCONNECT_GRACE_S, MasterWatchdog, lost_reason


def test_heartbeats_within_the_timeout_keep_the_master() -> None:
    """Silence shorter than the timeout is not a loss."""
    assert lost_reason(now=102.9, last_heard=100.0, disconnected_since=None, timeout_s=3.0) is None


def test_silence_past_the_timeout_loses_the_master() -> None:
    """Silence of the timeout or more is a loss, and the reason gives its length."""
    assert lost_reason(now=103.0, last_heard=100.0, disconnected_since=None, timeout_s=3.0) == (
        "no heartbeat for 3.0s"
    )


def test_silence_before_any_heartbeat_is_not_a_loss() -> None:
    """A worker still waiting to be admitted has heard nothing yet and keeps waiting."""
    assert lost_reason(now=1e6, last_heard=None, disconnected_since=None, timeout_s=3.0) is None


@pytest.mark.parametrize("closed_for", [0.0, DISCONNECT_GRACE_S - 0.01])
def test_a_connection_back_within_the_grace_is_kept(closed_for) -> None:
    """A disconnect shorter than the grace (a master resetting its socket) is not a loss."""
    assert (
        lost_reason(now=100.0 + closed_for, last_heard=100.0, disconnected_since=100.0, timeout_s=3.0) is None
    )


def test_a_closed_connection_loses_the_master_before_the_timeout() -> None:
    """A connection closed for the grace period is a loss even though heartbeats were recent."""
    reason = lost_reason(now=101.0, last_heard=100.5, disconnected_since=100.0, timeout_s=3.0)
    assert reason == "connection closed 1.0s ago"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_stall_of_this_worker_is_not_the_masters_silence() -> None:
    """Seconds in which the worker's own loop was stuck do not count towards the timeout."""
    clock = Clock()
    watchdog = MasterWatchdog(SimpleNamespace(runner=None), timeout_s=3.0, clock=clock)
    watchdog.heard()
    clock.now += 5.0  # the loop was stuck for 4.75 s of these 5
    watchdog.excuse_stall(4.75)
    assert lost_reason(clock.now, watchdog.last_heard, None, 3.0) is None
    clock.now += 3.0
    assert lost_reason(clock.now, watchdog.last_heard, None, 3.0) == "no heartbeat for 3.2s"


def test_spawn_messages_no_longer_rebuild_the_argument_parser() -> None:
    """After install, Locust's default options are computed once and are the same as before."""
    from locust import argument_parser

    before = argument_parser.default_args_dict()
    spawn_cost.install()
    spawn_cost.install()
    assert argument_parser.default_args_dict() == before
    assert argument_parser.default_args_dict() is argument_parser.default_args_dict()
