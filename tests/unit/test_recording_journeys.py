"""Journeys record wall time, summed request time and outcome; requests find them up the spawn chain."""

from __future__ import annotations

import gevent
import gevent.pool
import pytest

from agentload.recording import metrics
from agentload.recording.journeys import journey, note_request
from agentload.recording.recorder import Aggregate, Recorder


@pytest.fixture
def recorder():
    """A real recorder bound as the process's sink, as the plugin binds it at init."""
    recorder = Recorder()
    metrics.bind(recorder)
    yield recorder
    metrics._sink.clear()


def snapshot(recorder: Recorder):
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    return aggregate.snapshot()


def test_requests_from_a_pool_belong_to_the_journey_and_roll_up(recorder) -> None:
    """Three pooled requests inside a nested journey count in it and in its parent."""

    def run() -> None:
        with journey("parent_j"):
            note_request(True, 10.0, "a")
            with journey("child_j"):
                pool = gevent.pool.Pool()
                for trace in ("b", "c", "d"):
                    pool.spawn(note_request, True, 5.0, trace)
                pool.join()

    gevent.spawn(run).join()
    shot = snapshot(recorder)
    assert shot.histograms["parent_j_request_time"].max == 25.0
    assert shot.histograms["child_j_request_time"].max == 15.0
    assert shot.counter("child_j_error_rate:true") == shot.counter("parent_j_error_rate:true") == 0
    (slowest,) = shot.slowest["parent_j"].ranked()
    assert sorted(slowest.trace_id.split()) == ["a", "b", "c", "d"]


def test_a_failed_child_fails_its_parent_and_leaves_the_durations(recorder) -> None:
    """One failed request: both journeys count as failed, and neither records a duration."""

    def run() -> None:
        with journey("outer_j"), journey("inner_j"):
            note_request(False, 5.0, None)

    gevent.spawn(run).join()
    shot = snapshot(recorder)
    assert shot.counter("outer_j_error_rate:true") == shot.counter("inner_j_error_rate:true") == 1
    assert "outer_j" not in shot.histograms and "inner_j" not in shot.histograms


def test_an_exception_fails_the_journey_and_greenlet_exit_abandons_it(recorder) -> None:
    """An exception leaving a journey fails it; a user killed mid-journey records nothing."""

    def raises() -> None:
        with journey("raising_j"):
            raise RuntimeError("boom")

    def sleeps() -> None:
        with journey("killed_j"):
            gevent.sleep(10)

    gevent.spawn(raises).join()
    killed = gevent.spawn(sleeps)
    gevent.sleep(0)
    killed.kill()
    shot = snapshot(recorder)
    assert shot.counter("raising_j_error_rate:true") == shot.counter("raising_j_error_rate:total") == 1
    assert shot.counter("killed_j_error_rate:total") == 0


def test_requests_outside_any_journey_belong_to_none(recorder) -> None:
    """After a journey ends, a request of the same greenlet is credited to nothing."""

    def run() -> None:
        with journey("done_j"):
            pass
        note_request(False, 1.0, None)

    gevent.spawn(run).join()
    assert snapshot(recorder).counter("done_j_error_rate:true") == 0
