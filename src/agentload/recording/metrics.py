"""Metric names and kinds: the built-in ones, and the ones a locustfile or budgets.yaml declares.

A k6 script declares `new Trend("queue_wait")` at its top and calls `.add()` in the iteration;
agentload's `Trend`, `Counter` and `Rate` work the same way in a locustfile. A declaration
registers the name and its kind for the whole process, so the budgets loader, the reporters, the
web UI and InfluxDB know it. Values go to the recorder the plugin binds at `init`; until then
(for example while Locust imports the locustfile) there is nowhere to put them, and `add` keeps
nothing. Every request a user sends is also a metric, named by the request (see `samples`), so a
histogram with no declared kind is a request duration.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from agentload.recording.recorder import Recorder

# Metric kinds decide which statistics a budget may ask for and how a threshold is written.
DURATION = "duration"  # milliseconds; p50/p90/p95/p99/avg/min/med/max
NUMBER = "number"  # a plain trend (tokens, tokens per second); same statistics
RATE = "rate"  # a ratio of counters; stat "rate"
COUNT = "count"  # a counter; stat "count"
KINDS = (DURATION, NUMBER, RATE, COUNT)

SCHEDULED_SUFFIX = "_scheduled"
"""Arrival-rate scenarios also record `<metric>_scheduled`: latency measured from the scheduled
start, so a slow platform cannot hide behind a late schedule (coordinated omission)."""

_REQUEST_LATENCIES = (
    "intent_inference_latency",
    "step_execution_latency",
    "chat_response_latency",
    "health_check_latency",
)

BUILTIN: dict[str, str] = {
    **dict.fromkeys(_REQUEST_LATENCIES[:3], DURATION),
    "chat_time_to_first_token": DURATION,
    "chat_inter_token_latency": DURATION,
    "chat_output_tokens": NUMBER,
    "chat_tokens_per_second": NUMBER,
    "health_check_latency": DURATION,
    "iteration_schedule_lag": DURATION,
    "generator_loop_lag": DURATION,
    "generator_cpu": NUMBER,
    "error_rate": RATE,
    "shed_rate": RATE,
    "http_5xx": COUNT,
    "errors": COUNT,
    "shed": COUNT,
    "requests": COUNT,
    "dropped_iterations": COUNT,
    **{name + SCHEDULED_SUFFIX: DURATION for name in _REQUEST_LATENCIES},
    **{
        f"{name}.{part}": DURATION
        for name in _REQUEST_LATENCIES[:3]
        for part in ("queue", "cache", "llm", "db", "tool", "other", "client", "app")
    },
}
"""The suite's own metrics. Request latencies count successful responses only: errors are counted
by name and never pollute a latency distribution (a stalled request is a timeout, not 10 s).
`generator_loop_lag` and `generator_cpu` are the load generator's own health (`generator`)."""

METRICS: dict[str, str] = dict(BUILTIN)
"""Every metric this process knows, in declaration order: the built-ins, then the declared ones."""


COMPONENT_SEPARATOR = "."
"""A request's parts are metrics too: `<metric>.<part>`, e.g. `intent_inference_latency.llm`. Parts
are the target's `Server-Timing` components (`queue`, `cache`, `llm`, `db`, `tool` on the reference
platform), `app` (the server's whole time), `other` (server time no component claims) and `client`
(the request's latency minus `app`). The suite's three request metrics have every part registered,
so budgets.yaml may name them; another target's or request's parts are declared under `metrics:`."""


def component_metric(metric: str, part: str) -> str:
    """The metric of one part of `metric`'s requests."""
    return f"{metric}{COMPONENT_SEPARATOR}{part}"


def parent_metric(name: str) -> str:
    """`intent_inference_latency.llm` -> `intent_inference_latency`; any other name is its own parent."""
    parent, dot, _ = name.rpartition(COMPONENT_SEPARATOR)
    return parent if dot and parent in METRICS and METRICS[parent] == DURATION else name


def kind_of(name: str) -> str:
    """The metric's kind (a labeled series has its metric's); a histogram nobody declared holds
    request durations."""
    return METRICS.get(name.partition("{")[0], DURATION)


def ordered_metric_names(names: Iterable[str]) -> list[str]:
    """`names` in a stable order: METRICS registry order first, then the others alphabetically."""
    present = set(names)
    known = [name for name in METRICS if name in present]
    return known + sorted(present - set(known))


def declare(name: str, kind: str, scheduled: bool = True) -> None:
    """Make `name` a known metric of `kind`; declaring it again with the same kind is harmless.

    A duration also gets its `_scheduled` twin unless `scheduled` is false (a journey's)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a metric name must be a non-empty string, got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"metric {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    known = METRICS.get(name)
    if known is not None and known != kind:
        raise ValueError(f"metric {name!r} is already a {known} metric, cannot declare it as {kind}")
    METRICS[name] = kind
    twin = scheduled_twin(name, kind)
    if twin and scheduled:
        METRICS.setdefault(twin, DURATION)


def scheduled_twin(name: str, kind: str) -> str | None:
    """A duration also exists measured from the scheduled start, when an arrival rate drives it."""
    return name + SCHEDULED_SUFFIX if kind == DURATION and not name.endswith(SCHEDULED_SUFFIX) else None


def declare_all(kinds: Mapping[str, str]) -> None:
    """Declare every name -> kind of `kinds` (the `metrics:` section of budgets.yaml); kind
    "journey" declares a journey's three metrics."""
    from agentload.recording.journeys import JOURNEY, declare_journey  # journeys builds on this module

    for name, kind in kinds.items():
        if kind == JOURNEY:
            declare_journey(name)
        else:
            declare(name, kind)


def rate_counters(name: str) -> tuple[str, str]:
    """The two counters behind a declared `Rate`: how many values were true, and how many in all."""
    return f"{name}:true", f"{name}:total"


_sink: list[Recorder] = []


def bind(recorder: Recorder) -> None:
    """Send every declared metric's values to `recorder` (the plugin does this at init)."""
    _sink[:] = [recorder]


def bound_recorder() -> Recorder | None:
    """The recorder `bind` set, or None before the plugin's init."""
    return _sink[0] if _sink else None


class _Declared:
    kind: ClassVar[str]

    def __init__(self, name: str) -> None:
        declare(name, self.kind)
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Trend(_Declared):
    """A distribution (k6's Trend): `unit="ms"` makes it a duration, anything else a plain number."""

    def __init__(self, name: str, unit: str = "ms") -> None:
        self.kind = DURATION if unit == "ms" else NUMBER
        super().__init__(name)

    def add(self, value: float) -> None:
        if _sink:
            _sink[0].observe(self.name, float(value))


class Counter(_Declared):
    """A running total (k6's Counter); a budget on it is a limit ("at most")."""

    kind = COUNT

    def add(self, n: int = 1) -> None:
        if _sink:
            _sink[0].count(self.name, int(n))


class Rate(_Declared):
    """The share of values that were true (k6's Rate), e.g. `cache_hit.add(response_was_cached)`."""

    kind = RATE

    def add(self, value: bool) -> None:
        if _sink:
            hits, total = rate_counters(self.name)
            _sink[0].count(hits, 1 if value else 0)
            _sink[0].count(total)
