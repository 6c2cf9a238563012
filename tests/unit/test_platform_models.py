"""Unit tests of the reference platform's pure parts: fault specs, latency models, slots, intents, config."""

from __future__ import annotations

import asyncio
import json
import random
import statistics

import pytest

from agentload.platform.capacity import Overloaded, SlotPool
from agentload.platform.cli import UsageError, build_parser, config_from_args
from agentload.platform.config import parse_fixed_latency
from agentload.platform.faults import (
    ENDPOINTS,
    Fault,
    FaultSettings,
    decide_fault,
    parse_fault_spec,
    update_faults,
)
from agentload.platform.intents import classify, split_requests
from agentload.platform.latency import ChatPlan, FixedTiming, LatencyModel, LatencyParams
from agentload.platform.streaming import ENCODERS, AiSdkStream, OpenAIChunks, pick_format, reply_tokens
from agentload.traffic.streams import FORMATS

# --- fault specs ---------------------------------------------------------------------------------


def test_bare_number_applies_to_every_endpoint() -> None:
    """A bare number sets the same value for every endpoint."""
    assert parse_fault_spec("0.25") == dict.fromkeys(ENDPOINTS, 0.25)


def test_per_endpoint_values_and_default() -> None:
    """endpoint=value pairs set those endpoints; the rest get the default."""
    assert parse_fault_spec("intent=4, chat=2", default=1.0) == {
        "health": 1.0,
        "intent": 4.0,
        "step": 1.0,
        "chat": 2.0,
    }


def test_bare_number_in_list_sets_the_others() -> None:
    """In "0.1,intent=1" the bare number is the value of the endpoints not named."""
    assert parse_fault_spec("0.1,intent=1") == {"health": 0.1, "intent": 1.0, "step": 0.1, "chat": 0.1}


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("", "''"),
        ("abc", "'abc'"),
        ("intent=x", "'x'"),
        ("bogus=1", "'bogus'"),
        ("-1", "'-1'"),
        ("nan", "'nan'"),
        ("intent=1,intent=2", "'intent'"),
        ("intent=", "''"),
    ],
)
def test_bad_fault_specs_raise_quoting_the_value(text: str, quoted: str) -> None:
    """Bad specs raise ValueError whose message quotes the offending value."""
    with pytest.raises(ValueError, match="invalid fault spec") as info:
        parse_fault_spec(text)
    assert quoted in str(info.value)


def test_update_faults_accepts_numbers_strings_and_objects() -> None:
    """Admin updates take a number, a spec string or an {endpoint: number} object per knob."""
    settings = update_faults(
        FaultSettings(),
        {"latency_scale": 3, "error_rate": "chat=0.5", "reset_rate": {"health": 1}, "shed": False},
    )
    assert settings.latency_scale == dict.fromkeys(ENDPOINTS, 3.0)
    assert settings.error_rate["chat"] == 0.5 and settings.error_rate["intent"] == 0.0
    assert settings.reset_rate["health"] == 1.0 and settings.overload_mode == "queue"


@pytest.mark.parametrize(
    "changes",
    [
        {"bogus": 1},
        {"error_rate": 1.5},
        {"error_rate": True},
        {"error_rate": {"chat": "x"}},
        {"overload_mode": "panic"},
        {"shed": "no"},
        {"stall_max_s": 0},
        {"latency_scale": [1]},
    ],
)
def test_update_faults_rejects_bad_values(changes: dict) -> None:
    """Unknown keys and out-of-range or mistyped values raise ValueError."""
    with pytest.raises(ValueError):
        update_faults(FaultSettings(), changes)


def test_fault_settings_are_json_serialisable() -> None:
    """to_json gives plain JSON types."""
    assert json.loads(json.dumps(FaultSettings().to_json()))["overload_mode"] == "shed"


# --- fault decisions -----------------------------------------------------------------------------


def test_no_faults_by_default() -> None:
    """Default settings never inject a fault."""
    rng = random.Random(1)
    assert {decide_fault(FaultSettings(), "chat", rng) for _ in range(1000)} == {Fault.NONE}


def test_fault_share_matches_the_rate() -> None:
    """A 30 % error rate hits about 30 % of requests (seeded, ±3 points)."""
    settings = update_faults(FaultSettings(), {"error_rate": 0.3})
    rng = random.Random(7)
    hits = sum(decide_fault(settings, "intent", rng) is Fault.ERROR for _ in range(10_000))
    assert 2700 <= hits <= 3300


def test_fault_precedence_and_endpoint_scope() -> None:
    """Reset wins over the other faults, and a fault set for one endpoint leaves the others alone."""
    settings = update_faults(FaultSettings(), {"reset_rate": "chat=1", "error_rate": 1, "truncate_rate": 1})
    rng = random.Random(1)
    assert decide_fault(settings, "chat", rng) is Fault.RESET
    assert decide_fault(settings, "intent", rng) is Fault.ERROR


# --- latency models ------------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[round(q * 100) - 1]


@pytest.fixture
def model() -> LatencyModel:
    """The default random latency model with seed 1."""
    return LatencyModel(LatencyParams(), FixedTiming(), random.Random(1))


def test_intent_p95_near_300ms(model: LatencyModel) -> None:
    """Single-intent classification has P95 ~ 300 ms (seeded sample of 20k)."""
    assert 260 <= _quantile([model.intent_ms(1) for _ in range(20_000)], 0.95) <= 340


def test_more_intents_take_longer(model: LatencyModel) -> None:
    """A message with three requests takes longer to classify than one with one."""
    one = statistics.median(model.intent_ms(1) for _ in range(5000))
    three = statistics.median(model.intent_ms(3) for _ in range(5000))
    assert three > one * 1.3


def test_step_p95_near_800ms(model: LatencyModel) -> None:
    """Workflow steps have P95 ~ 800 ms."""
    assert 700 <= _quantile([model.step_ms() for _ in range(20_000)], 0.95) <= 900


def test_chat_total_p95_near_900ms_and_ttft_near_250ms(model: LatencyModel) -> None:
    """Full chat answers have P95 ~ 900 ms and a typical (median) first token ~ 250 ms."""
    plans = [model.chat_plan() for _ in range(20_000)]
    assert 800 <= _quantile([p.total_ms for p in plans], 0.95) <= 1000
    assert 200 <= statistics.median(p.ttft_ms for p in plans) <= 280
    assert all(16 <= p.tokens <= 40 for p in plans)


def test_same_seed_same_samples() -> None:
    """Two models with the same seed draw the same latencies."""
    a, b = (LatencyModel(LatencyParams(), FixedTiming(), random.Random(5)) for _ in range(2))
    assert [a.intent_ms(1) for _ in range(10)] == [b.intent_ms(1) for _ in range(10)]


def test_fixed_timing_is_deterministic() -> None:
    """Fixed timing returns the configured constants for every call."""
    fixed = FixedTiming({"intent": 100.0, "step": 50.0}, ttft_ms=200.0, itl_ms=20.0, tokens=10)
    model = LatencyModel(LatencyParams(), fixed, random.Random(1))
    assert {model.intent_ms(3) for _ in range(5)} == {100.0} and model.step_ms() == 50.0
    plan = model.chat_plan()
    assert plan == ChatPlan(200.0, (20.0,) * 9) and plan.total_ms == pytest.approx(380.0)


def test_fixed_zero_for_all_endpoints_fixes_chat_too() -> None:
    """--fixed-latency-ms 0 makes chat fixed as well (ttft 0, itl 0, 16 tokens)."""
    model = LatencyModel(LatencyParams(), FixedTiming(parse_fixed_latency("0")), random.Random(1))
    assert model.chat_plan() == ChatPlan(0.0, (0.0,) * 15)


def test_chat_plan_scaling() -> None:
    """latency_scale multiplies ttft and every gap."""
    assert ChatPlan(100.0, (10.0, 20.0)).scaled(3).total_ms == pytest.approx(390.0)


# --- capacity ------------------------------------------------------------------------------------


async def _fill(pool: SlotPool, mode: str, n: int) -> list[object]:
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.slot(mode):
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(n)]
    await asyncio.sleep(0.01)
    outcomes: list[object] = [pool.in_use, pool.waiting]
    release.set()
    outcomes += await asyncio.gather(*tasks, return_exceptions=True)
    return outcomes


def test_pool_sheds_past_the_queue() -> None:
    """1 slot + queue 1: the third concurrent request is refused with 429 + Retry-After 1."""
    in_use, waiting, *results = asyncio.run(_fill(SlotPool(1, 1), "shed", 3))
    assert (in_use, waiting) == (1, 1)
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert len(refused) == 1 and refused[0].status == 429 and refused[0].retry_after == 1


def test_pool_error_mode_answers_500() -> None:
    """Overload mode "error" refuses with 500 and no Retry-After."""
    *_, last = asyncio.run(_fill(SlotPool(1, 0), "error", 2))
    assert isinstance(last, Overloaded) and last.status == 500 and last.retry_after is None


def test_pool_queue_mode_never_refuses() -> None:
    """Overload mode "queue" lets every request wait."""
    in_use, waiting, *results = asyncio.run(_fill(SlotPool(2, 0), "queue", 10))
    assert (in_use, waiting) == (2, 8) and results == [None] * 10


# --- intents and streaming -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "types"),
    [
        ("book a table and order a taxi", ["book_restaurant", "order_taxi"]),
        ("what's the weather; remind me at 7pm then play music", ["weather", "reminder", "play_music"]),
        ("search for hotels also send a message to Anna", ["search", "send_message"]),
        ("tell me a joke", ["send_message"]),
        ("hello", ["general_question"]),
    ],
)
def test_classify_splits_and_matches_keywords(text: str, types: list[str]) -> None:
    """Messages split into requests, each matched to an intent type by keywords."""
    assert [i.type for i in classify(text)] == types


def test_entities_are_extracted() -> None:
    """Times, party sizes, places and the user location end up in entities."""
    (intent,) = classify("book a table for 4 at 8pm near Alexanderplatz", {"lat": 1.0, "lng": 2.0})
    assert intent.entities == {
        "time": "8pm",
        "party_size": 4,
        "place": "Alexanderplatz",
        "location": {"lat": 1.0, "lng": 2.0},
    }


def test_split_never_returns_nothing() -> None:
    """Even separator-only text yields one request."""
    assert len(split_requests(" and ")) == 1


def test_stream_format_selection_and_tokens() -> None:
    """ai-sdk picks the Vercel format, anything else OpenAI chunks; tokens end with a space."""
    assert isinstance(pick_format("ai-sdk"), AiSdkStream)
    assert isinstance(pick_format(None, "ai-sdk"), AiSdkStream)
    assert isinstance(pick_format("openai", "ai-sdk"), OpenAIChunks)
    assert isinstance(pick_format(None), OpenAIChunks)
    assert all(t.endswith(" ") for t in reply_tokens("order_taxi", 30))
    assert OpenAIChunks().end({"prompt_tokens": 1}).endswith(b"data: [DONE]\n\n")


# --- configuration -------------------------------------------------------------------------------


def test_env_fallback_and_flag_precedence() -> None:
    """Fault env vars apply when no flag is given; flags win over env."""
    env = {"PLATFORM_ERROR_RATE": "0.5", "PLATFORM_LATENCY_SCALE": "2", "INTERNAL_SYSTEM_KEY": "zz-secret-zz"}
    args = build_parser().parse_args(["--latency-scale", "intent=4"])
    config = config_from_args(args, env)
    assert config.faults.error_rate["chat"] == 0.5
    assert config.faults.latency_scale == {"health": 1.0, "intent": 4.0, "step": 1.0, "chat": 1.0}
    assert config.system_key == "zz-secret-zz" and "zz-secret-zz" not in repr(config)


def test_defaults() -> None:
    """Defaults: 32 slots, queue 64, 64 KiB bodies, 10 % async steps, shed mode, key test-key."""
    config = config_from_args(build_parser().parse_args([]), {})
    assert (config.slots, config.queue, config.max_body, config.async_step_rate) == (32, 64, 65536, 0.1)
    assert config.faults.overload_mode == "shed" and config.system_key == "test-key"


@pytest.mark.parametrize(
    "argv",
    [
        ["--fixed-latency-ms", "intent=-1"],
        ["--async-step-rate", "2"],
        ["--stall-max-s", "0"],
        ["--port", "70000"],
        ["--reset-rate", "1.5"],
    ],
)
def test_bad_values_raise(argv: list[str]) -> None:
    """Out-of-range values raise ValueError (the CLI turns it into exit status 2)."""
    with pytest.raises(ValueError):
        config_from_args(build_parser().parse_args(argv), {})


def test_parse_fixed_latency_keeps_only_named_endpoints() -> None:
    """ "intent=100,step=50" fixes only intent and step."""
    assert parse_fixed_latency("intent=100,step=50") == {"intent": 100.0, "step": 50.0}


def test_no_shed_flag_means_queue_mode() -> None:
    """--no-shed is an alias of --overload-mode queue."""
    config = config_from_args(build_parser().parse_args(["--no-shed"]), {})
    assert config.faults.overload_mode == "queue"


def test_stream_format_from_flag_or_environment() -> None:
    """Every decoder format can be the platform's default; an unknown PLATFORM_STREAM_FORMAT is refused."""
    parser = build_parser()
    for name in ENCODERS:
        assert config_from_args(parser.parse_args(["--stream-format", name]), {}).stream_format == name
    assert config_from_args(parser.parse_args([]), {"PLATFORM_STREAM_FORMAT": "text"}).stream_format == "text"
    with pytest.raises(UsageError, match=r"PLATFORM_STREAM_FORMAT.*'grpc'"):
        config_from_args(parser.parse_args([]), {"PLATFORM_STREAM_FORMAT": "grpc"})
    assert set(ENCODERS) == set(FORMATS)


def test_prefill_delays_the_first_token_by_input_tokens() -> None:
    """At 1,000 ms per 1,000 input tokens, 500 input tokens add 500 ms to the first token only."""
    fixed = FixedTiming(ttft_ms=20.0, itl_ms=5.0, tokens=3, prefill_ms_per_1k_tokens=1000.0)
    model = LatencyModel(LatencyParams(), fixed, random.Random(1))
    assert model.chat_plan(500) == ChatPlan(520.0, (5.0, 5.0))
    assert model.chat_plan(0) == ChatPlan(20.0, (5.0, 5.0))
    seeded = LatencyModel(LatencyParams(prefill_ms_per_1k_tokens=500.0), FixedTiming(), random.Random(7))
    unseeded = LatencyModel(LatencyParams(prefill_ms_per_1k_tokens=0.0), FixedTiming(), random.Random(7))
    assert seeded.chat_plan(1000).ttft_ms == pytest.approx(unseeded.chat_plan(1000).ttft_ms + 500.0)
