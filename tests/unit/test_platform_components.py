"""The platform's components: the split of service time, component scales and the Server-Timing text."""

import random

import pytest

from agentload.platform.components import (
    chat_parts,
    coerce_component_scale,
    parse_component_scale,
    scale_of,
    server_timing,
    service_parts,
)
from agentload.platform.faults import FaultSettings, update_faults
from agentload.platform.latency import ChatPlan
from agentload.traffic.server_timing import parse_server_timing


def test_parse_component_scale() -> None:
    """Global and per-endpoint factors parse; the per-endpoint one wins for its endpoint only."""
    scales = parse_component_scale("llm=3, intent.llm=5,db=2")
    assert scales == {"llm": 3.0, "intent.llm": 5.0, "db": 2.0}
    assert scale_of(scales, "intent", "llm") == 5.0
    assert scale_of(scales, "chat", "llm") == 3.0
    assert scale_of(scales, "step", "tool") == 1.0


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("gpu=2", "'gpu'"),
        ("health.llm=2", "'health.llm'"),
        ("llm", "'llm'"),
        ("llm=x", "'x'"),
        ("llm=0", "'0'"),
        ("llm=1,llm=2", "'llm'"),
        ("", "''"),
    ],
)
def test_bad_component_scale_is_refused_quoting_it(text, quoted) -> None:
    """A bad spec raises one ValueError that quotes the offending part."""
    with pytest.raises(ValueError, match="invalid component scale") as caught:
        parse_component_scale(text)
    assert quoted in str(caught.value)


def test_admin_update_sets_and_clears_component_scale() -> None:
    """POST /_admin/faults accepts a spec string or an object; {} clears the scales."""
    faults = update_faults(FaultSettings(), {"component_scale": "intent.llm=5"})
    assert faults.component_scale == {"intent.llm": 5.0}
    assert update_faults(faults, {"component_scale": {}}).component_scale == {}
    assert faults.to_json()["component_scale"] == {"intent.llm": 5.0}
    with pytest.raises(ValueError):
        coerce_component_scale({"llm": True})


@pytest.mark.parametrize(
    ("endpoint", "names"), [("intent", {"cache", "llm", "db"}), ("step", {"db", "tool"})]
)
def test_parts_add_up_to_the_service_time(endpoint, names) -> None:
    """Unscaled parts sum to the sampled service time, so totals (and their tests) are unchanged."""
    rng = random.Random(1)
    for total in (0.0, 1.0, 100.0, 2345.6):
        parts = service_parts(endpoint, total, rng, {})
        assert set(parts) == names
        assert sum(parts.values()) == pytest.approx(total)


def test_a_scaled_component_grows_alone() -> None:
    """intent.llm=5 multiplies the llm part by 5 and leaves the others as they were."""
    plain = service_parts("intent", 100.0, random.Random(7), {})
    slow = service_parts("intent", 100.0, random.Random(7), {"intent.llm": 5})
    assert slow["llm"] == pytest.approx(plain["llm"] * 5)
    assert slow["db"] == pytest.approx(plain["db"])
    assert service_parts("step", 100.0, random.Random(7), {"intent.llm": 5}) == service_parts(
        "step", 100.0, random.Random(7), {}
    )


def test_async_step_is_all_db() -> None:
    """A 202 acknowledgement only writes the step record."""
    assert service_parts("step", 15.0, random.Random(1), {}, async_step=True) == {"db": pytest.approx(15.0)}


def test_chat_parts_scale_first_token_and_gaps() -> None:
    """Chat: cache + llm = the plan's total; llm x2 doubles the gaps and the llm part of the first token."""
    plan = ChatPlan(200.0, (10.0,) * 15)
    same, parts = chat_parts(plan, random.Random(3), {})
    assert same == plan
    assert parts["cache"] + parts["llm"] == pytest.approx(plan.total_ms)
    slow, slow_parts = chat_parts(plan, random.Random(3), {"llm": 2})
    assert slow.gaps_ms == (20.0,) * 15
    assert slow.ttft_ms == pytest.approx(parts["cache"] + (200.0 - parts["cache"]) * 2)
    assert slow_parts["cache"] == pytest.approx(parts["cache"])


def test_server_timing_round_trips_through_the_client_parser() -> None:
    """What the platform writes, the client reads back to the microsecond."""
    header = server_timing({"queue": 0.5, "llm": 80.25}, 90.0, ';desc="planned", ttft;dur=30.000')
    assert parse_server_timing(header) == {"queue": 0.5, "llm": 80.25, "app": 90.0, "ttft": 30.0}
