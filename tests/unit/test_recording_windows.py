"""Time-window slots: the recorder files each sample under the boundary last passed; slots merge exactly."""

from __future__ import annotations

import time

import gevent
import msgpack
import pytest

from agentload.recording.recorder import Aggregate, Recorder
from agentload.recording.windows import RecordingPlan, follow, slot_at


@pytest.mark.parametrize(
    ("elapsed", "slot"), [(0.0, 0.0), (59.9, 0.0), (60.0, 60.0), (299.0, 60.0), (300.0, 300.0), (1e6, 300.0)]
)
def test_slot_is_the_last_boundary_passed(elapsed: float, slot: float) -> None:
    """Before the first boundary the slot is 0; from each boundary on, that boundary."""
    assert slot_at((60.0, 300.0), elapsed) == slot


def test_slots_merge_exactly_into_stages_and_the_whole_run() -> None:
    """Samples filed by (stage, slot) sum to each stage and to the run, through the wire form."""
    recorder = Recorder()
    for stage, slot, n in (("ramp", 0.0, 3), ("hold", 0.0, 2), ("hold", 60.0, 5)):
        recorder.stage, recorder.slot = stage, slot
        for value in range(n):
            recorder.observe("intent_inference_latency", 10.0 + value)
        recorder.count("requests", n)
    wire = msgpack.loads(msgpack.dumps(recorder.drain()), raw=False)
    aggregate = Aggregate()
    aggregate.merge_wire(wire)
    snapshot = aggregate.snapshot()
    counts = {part: d.histograms["intent_inference_latency"].count for part, d in snapshot.slots.items()}
    assert counts == {("ramp", 0.0): 3, ("hold", 0.0): 2, ("hold", 60.0): 5}
    assert snapshot.stages["hold"].counters["requests"] == 7
    assert snapshot.histograms["intent_inference_latency"].count == 10
    assert recorder.drain() == {}


def test_changing_the_slot_opens_a_new_delta_and_returning_reuses_it() -> None:
    """The cached current delta follows every stage or slot change, so no sample lands in the wrong part."""
    recorder = Recorder()
    recorder.count("requests")
    recorder.slot = 5.0
    recorder.count("requests", 2)
    recorder.slot = 0.0
    recorder.count("requests", 4)
    drained = recorder.drain()
    assert {slot: wire["c"]["requests"] for slot, wire in drained[""].items()} == {"0.0": 5, "5.0": 2}


def test_the_timer_moves_the_slot_at_each_boundary_on_the_scaled_clock() -> None:
    """Boundaries 2 s and 4 s at time scale 20 are passed 0.1 s and 0.2 s after the start."""
    recorder = Recorder()
    started = time.monotonic()
    timer = follow(recorder, (2.0, 4.0), time_scale=20)
    seen = []
    while time.monotonic() - started < 0.4:
        seen.append((round(time.monotonic() - started, 3), recorder.slot))
        gevent.sleep(0.01)
    timer.kill()
    first_2 = next(t for t, slot in seen if slot == 2.0)
    first_4 = next(t for t, slot in seen if slot == 4.0)
    assert 0.09 <= first_2 <= 0.2 and 0.19 <= first_4 <= 0.3, seen  # generous: a shared machine
    assert [slot for _, slot in seen] == sorted(slot for _, slot in seen)


def test_no_windows_means_no_timer_and_slot_zero() -> None:
    """A run whose budgets name no window records in slot 0 only, with no greenlet."""
    recorder = Recorder()
    recorder.slot = 9.0
    assert follow(recorder, ()) is None and recorder.slot == 0.0


def test_the_plan_survives_the_trip_to_a_worker() -> None:
    """The plan crosses msgpack (Locust's spawn message) unchanged; no option at all is the empty plan."""
    plan = RecordingPlan(windows=(7.5, 60.0), labels=frozenset({"user"}))
    option = msgpack.loads(msgpack.dumps(plan.to_option()), raw=False)
    assert RecordingPlan.from_option(option) == plan
    assert RecordingPlan.from_option(None) == RecordingPlan()
