"""Line protocol and per-interval aggregation: the exact schema the Grafana dashboard reads."""

from __future__ import annotations

import math

import pytest

from agentload.integrations.influx_points import (
    IntervalAggregator,
    OutBuffer,
    RunTags,
    escape_tag,
    format_line,
)
from agentload.recording.samples import Sample
from agentload.traffic.classify import event_sample

TAGS = RunTags("r1", "load", "local")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("with space", r"with\ space"),
        ("a,b", r"a\,b"),
        ("k=v", r"k\=v"),
        ("line\nbreak", r"line\ break"),
        ("back\\slash", "back/slash"),
        ("", "none"),
    ],
)
def test_escape_tag(raw: str, escaped: str) -> None:
    """Spaces, commas and equals signs are escaped; newlines, backslashes and blanks are made safe."""
    assert escape_tag(raw) == escaped


def test_format_line_types_and_order() -> None:
    """Tags sorted, ints with `i`, floats by repr, non-finite floats left out, ms timestamp last."""
    line = format_line(
        "agentload_requests",
        {"scenario": "Chat User", "metric": "m,1"},
        {"count": 3, "latency_ms_p95": 1.5, "ttft_ms_p95": math.nan},
        1700000000123,
    )
    assert (
        line
        == r"agentload_requests,metric=m\,1,scenario=Chat\ User count=3i,latency_ms_p95=1.5 1700000000123"
    )


def test_format_line_needs_a_field() -> None:
    """A point whose only fields are NaN is refused instead of sending an invalid line."""
    with pytest.raises(ValueError, match="no finite field"):
        format_line("m", {}, {"x": math.nan}, 1)


def parse(line: str) -> tuple[str, dict[str, str], dict[str, str], int]:
    head, fields, ts = line.split(" ")
    measurement, *tags = head.split(",")
    return (
        measurement,
        dict(t.split("=", 1) for t in tags),
        dict(f.split("=", 1) for f in fields.split(",")),
        int(ts),
    )


def test_one_point_per_tag_set_per_interval() -> None:
    """1,000 samples in one interval become one requests point per (scenario, metric, class) + users."""
    agg = IntervalAggregator()
    for i in range(990):
        agg.add_sample(
            "Chat",
            Sample("chat_response_latency", float(i % 100 + 1), "ok", ttft_ms=5.0, output_tokens=3),
            response_length=10,
        )
    for _ in range(10):
        agg.add_sample("Chat", Sample("chat_response_latency", 7.0, "shed", failure="shed_429", status=429))
    lines = agg.drain(TAGS, 1000, 1.0, users=50)
    points = [parse(line) for line in lines]
    assert [p[0] for p in points] == [
        "agentload_requests",
        "agentload_requests",
        "agentload_failures",
        "agentload_users",
    ]
    _, tags, fields, ts = points[0]
    assert tags == {
        "run_id": "r1",
        "profile": "load",
        "worker": "local",
        "scenario": "Chat",
        "metric": "chat_response_latency",
        "status_class": "ok",
    }
    assert fields["count"] == "990i" and fields["bytes"] == "9900i" and fields["tokens"] == "2970i"
    assert float(fields["latency_ms_p50"]) == pytest.approx(50, abs=0.1)
    assert float(fields["latency_ms_p99"]) == pytest.approx(99, abs=0.1)
    assert float(fields["latency_ms_max"]) == 100.0 and fields["ttft_ms_p95"] == "5.0" and ts == 1000
    assert points[1][1]["status_class"] == "shed" and "ttft_ms_p95" not in points[1][2]
    assert points[2][1]["failure"] == "shed_429" and points[2][2] == {"count": "10i"}
    assert points[3][2] == {"users": "50i", "arrival_rate": "1000.0", "dropped_iterations": "0i"}


def test_drain_starts_afresh() -> None:
    """A drained interval is gone: the next drain has only the users point."""
    agg = IntervalAggregator()
    agg.add_sample("all", Sample("health_check_latency", 1.0, "ok"))
    assert len(agg.drain(TAGS, 1, 1.0, users=1)) == 2
    assert [parse(line)[0] for line in agg.drain(TAGS, 2, 1.0, users=1)] == ["agentload_users"]
    assert agg.drain(TAGS, 3, 1.0, users=None) == []


def test_arrival_rate_counts_iterations_per_second() -> None:
    """Scheduled samples are counted by the iteration event, unscheduled ones as one iteration each."""
    agg = IntervalAggregator()
    agg.add_sample("Arrive", Sample("intent_inference_latency", 1.0, "ok", schedule_lag_ms=0.5))
    agg.add_sample("Closed", Sample("intent_inference_latency", 1.0, "ok"))
    agg.iterations += 3
    agg.dropped_iterations += 2
    users = parse(agg.drain(TAGS, 1, 2.0, users=3)[-1])[2]
    assert users == {"users": "3i", "arrival_rate": "2.0", "dropped_iterations": "2i"}


def test_plain_requests_without_sample() -> None:
    """A custom user's request is written as the recorder sees it: Locust's name, our failure name."""
    agg = IntervalAggregator()
    agg.add_sample("all", event_sample("/custom", 12.0, None, None), 5)
    agg.add_sample("all", event_sample("/custom", 3.0, ConnectionRefusedError(111, "refused"), None))
    *requests, failure = agg.drain(TAGS, 1, 1.0, users=None)
    counts = [(p[1]["status_class"], p[2]["count"]) for p in map(parse, requests)]
    assert counts == [("error", "1i"), ("ok", "1i")]
    assert "failure=connection\\ refused,metric=/custom," in failure


def test_buffer_drops_oldest_and_counts() -> None:
    """A full buffer keeps the newest `max_points` lines and counts every dropped one."""
    buffer = OutBuffer(3)
    buffer.extend(["a", "b"])
    buffer.extend(["c", "d", "e"])
    assert (len(buffer), buffer.dropped) == (3, 2)
    assert buffer.take(2) == ["c", "d"]


def test_buffer_put_back_keeps_order_and_bound() -> None:
    """A failed batch goes back in front; if new lines arrived meanwhile, the oldest are dropped."""
    buffer = OutBuffer(4)
    buffer.extend(["a", "b", "c"])
    batch = buffer.take(2)
    buffer.extend(["d", "e", "f"])
    buffer.put_back(batch)
    assert buffer.take(10) == ["c", "d", "e", "f"] and buffer.dropped == 2
    buffer.extend(["x"])
    assert buffer.discard_all() == 1 and buffer.dropped == 3


def test_server_timing_parts_become_their_own_points() -> None:
    """A successful request's parts are `agentload_parts` points, so request counts count requests only."""
    from agentload.integrations.influx_points import IntervalAggregator, RunTags
    from agentload.recording.samples import Sample

    aggregator = IntervalAggregator()
    timing = {"llm": 80.0, "db": 10.0, "app": 95.0}
    aggregator.add_sample("Intent", Sample("intent_inference_latency", 100.0, "ok", server_timing=timing))
    lines = aggregator.drain(RunTags("r", "p", "local"), 1_000, 1.0, 1)
    requests = [line for line in lines if line.startswith("agentload_requests,")]
    assert len(requests) == 1 and "count=1i" in requests[0]
    part_lines = [line for line in lines if line.startswith("agentload_parts,")]
    parts = {line.split("part=")[1].split(",")[0]: line for line in part_lines}
    assert set(parts) == {"llm", "db", "other", "client", "app"}
    assert "metric=intent_inference_latency," in parts["llm"] and "latency_ms_max=80" in parts["llm"]
    assert "latency_ms_max=5" in parts["client"]
