"""Users constructed in one turn of the event loop form one batch; each waits its share of a second."""

from __future__ import annotations

import gevent

from agentload.traffic.stagger import join_batch, start_delay


def test_users_made_in_one_turn_share_a_batch_and_a_new_turn_starts_another() -> None:
    first, place0 = join_batch()
    same, place1 = join_batch()
    gevent.sleep(0.002)
    later, place_later = join_batch()
    assert first is same and (place0, place1) == (0, 1) and first.size == 2
    assert later is not first and place_later == 0


def test_a_batch_spreads_evenly_over_the_window_and_a_lone_user_starts_at_once() -> None:
    assert [start_delay(place, 4) for place in range(4)] == [0.0, 0.25, 0.5, 0.75]
    assert start_delay(0, 1) == 0.0
    assert start_delay(3, 6, window_s=2.0) == 1.0
