"""The collector policy of a load-sending process (`agentload.traffic.collector`), on the real gc."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from agentload.traffic.collector import YOUNG_PER_USER, YOUNG_THRESHOLD, Collector


@pytest.fixture
def clean_gc() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*saved)


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_threshold_raised_for_the_test_and_restored(clean_gc: None) -> None:
    """Test start raises the young threshold, keeps the older ones; test stop restores all three."""
    before = gc.get_threshold()
    collector = Collector()
    collector.on_test_start()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    collector.on_test_stop()
    assert gc.get_threshold() == before


def test_spawned_objects_are_frozen_and_released_at_stop(clean_gc: None) -> None:
    """Spawning complete freezes what is alive; test stop unfreezes it."""
    collector = Collector()
    collector.on_test_start()
    collector.on_spawning_complete(user_count=10)
    assert gc.get_freeze_count() > 0
    collector.on_test_stop()
    assert gc.get_freeze_count() == 0


def test_users_stopped_in_a_ramp_down_are_not_leaked(clean_gc: None) -> None:
    """After fewer users spawn, the cyclic garbage frozen before is collected, not kept forever."""
    collector = Collector()
    collector.on_test_start()
    stopped = Cycle()
    alive = weakref.ref(stopped)
    collector.on_spawning_complete(user_count=10)
    del stopped  # a stopped user: cyclic garbage, frozen, so a collection does not see it
    gc.collect()
    assert alive() is not None
    collector.on_spawning_complete(user_count=5)
    assert alive() is None
    collector.on_test_stop()


def test_the_young_threshold_grows_with_the_users_and_never_falls_below_the_floor(clean_gc: None) -> None:
    """A young collection scans every request in flight, so its threshold scales with the users."""
    before = gc.get_threshold()
    collector = Collector()
    collector.on_test_start()
    collector.on_spawning_complete(user_count=4_000)
    assert gc.get_threshold() == (4_000 * YOUNG_PER_USER, *before[1:])
    collector.on_spawning_complete(user_count=10)
    assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
    collector.on_test_stop()
    assert gc.get_threshold() == before
