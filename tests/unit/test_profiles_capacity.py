"""The capacity search: coarse ramp, bisection, its verdict and exit codes, and its options."""

import pytest

from agentload.profiles.capacity import CapacitySearch, StepResult
from agentload.recording.histogram import Histogram
from agentload.settings import SettingsError, load_capacity


def sweep(truth: float, **options) -> CapacitySearch:
    """Run the search against a target that holds every rate <= truth."""
    search = CapacitySearch(**options)
    while (rate := search.next_rate()) is not None:
        broken = () if rate <= truth else ("intent_inference_latency p95",)
        observed = {"intent_inference_latency p95": 400.0} if broken else {}
        search.record(StepResult(rate, 10.0, int(rate * 10), broken, observed, goodput_per_s=rate * 0.9))
    return search


@pytest.mark.parametrize("truth", [11.0, 80.0, 123.0, 1000.0])
def test_capacity_is_within_tolerance_below_the_truth(truth) -> None:
    """The capacity found holds, and the first broken rate above it is within 5% of it."""
    result = sweep(truth).result("intent")
    assert result.max_rate_per_s <= truth < result.broke_at_per_s
    assert (result.broke_at_per_s - result.max_rate_per_s) / result.max_rate_per_s <= 0.05
    assert result.broken_budget == "intent_inference_latency p95" and result.broken_observed == 400.0
    assert result.goodput_per_s == pytest.approx(result.max_rate_per_s * 0.9)
    assert result.exit_code == 0


def test_ramp_then_bisection_order() -> None:
    """From 10/s: 10, 20, 40, 80, 160 (broke), then halves between 80 and 160."""
    rates = [s.rate_per_s for s in sweep(100.0).steps]
    assert rates[:5] == [10, 20, 40, 80, 160]
    assert rates[5:7] == [120, 100]


def test_exit_codes() -> None:
    """1 below the target, 0 at or above it, 3 when even the first step broke."""
    assert sweep(80.0, target=100.0).result().exit_code == 1
    assert sweep(80.0, target=60.0).result().exit_code == 0
    first_broke = sweep(5.0)
    assert len(first_broke.steps) == 1
    result = first_broke.result()
    assert result.max_rate_per_s is None and result.exit_code == 3 and result.broke_at_per_s == 10


def test_max_steps_stops_the_search() -> None:
    """The search ends after max_steps even when the bounds are still apart."""
    assert len(sweep(10_000.0, max_steps=4).steps) == 4


def test_histogram_count_at_most() -> None:
    """count_at_most counts samples <= a value (exact at both ends)."""
    histogram = Histogram()
    for value in (10.0, 20.0, 30.0, 40.0):
        histogram.record(value)
    assert [histogram.count_at_most(v) for v in (5, 10, 25, 40, 99)] == [0, 1, 2, 4, 4]


class Options:
    def __init__(self, **values) -> None:
        self.__dict__.update(values)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"capacity_scenario": "mix"},
            "--capacity-scenario: must be one of intent, step, chat, load_mix (got 'mix')",
        ),
        ({"capacity_target": "fast"}, "--capacity-target: must be a number greater than 0 (got 'fast')"),
        ({"capacity_start": "0"}, "--capacity-start: must be a number greater than 0 (got '0')"),
        (
            {"capacity_tolerance": "0.9"},
            "--capacity-tolerance: must be a number greater than 0 and at most 0.5",
        ),
    ],
)
def test_bad_capacity_options_name_the_option(values, message) -> None:
    """A bad option is one SettingsError naming the option and the value."""
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load_capacity(Options(**values))


def test_capacity_defaults() -> None:
    """load_mix from 10/s, 5% tolerance, no target."""
    options = load_capacity(Options())
    assert (options.scenario, options.start_per_s, options.tolerance, options.target_per_s) == (
        "load_mix",
        10.0,
        0.05,
        None,
    )


def test_capacity_renders_in_console_markdown_and_the_report_schema() -> None:
    """The sweep's headline, step table and JSON object, from one search."""
    from agentload.budgets.model import Verdict
    from agentload.recording.recorder import Snapshot
    from agentload.reporting import build_report, validate_report
    from agentload.reporting.capacity import (
        capacity_line,
        capacity_markdown,
        capacity_to_dict,
        render_capacity,
    )

    result = sweep(80.0, start=20.0, target=100.0).result("intent")
    text = render_capacity(result)
    assert text.splitlines()[0] == "capacity sweep:"
    assert text.splitlines()[-1] == (
        "capacity 80/s (intent); broke at 82.5/s: intent_inference_latency p95 = 400ms; goodput 72/s"
    )
    assert capacity_line(result, 1) == "capacity: 80/s (target 100/s) (exit 1)"
    assert "| 80/s | 10 | 80/s | 72/s | 0 | held |" in capacity_markdown(result)
    report = build_report(Snapshot({}, {}, {}), Verdict("FAIL", 1, ()))
    report["capacity"] = capacity_to_dict(result)
    validate_report(report)
    assert report["capacity"]["steps"][0] == {
        "rate_per_s": 20.0,
        "seconds": 10.0,
        "requests": 200,
        "achieved_per_s": 20.0,
        "goodput_per_s": 18.0,
        "dropped": 0,
        "held": True,
        "broken": [],
        "p95": {},
    }


def controller_with(samples: int, latency_ms: float, dropped: int = 0):
    """A real controller on a real Locust Environment, its current step holding these samples."""
    from locust.env import Environment

    from agentload.budgets import parse_budgets
    from agentload.profiles.capacity_run import CapacityController
    from agentload.recording.samples import Sample, record_sample
    from agentload.run_context import RunContext
    from agentload.settings import CapacitySettings

    environment = Environment()
    budgets = (
        "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 200ms, min_samples: 50}\n"
    )
    environment.agentload = RunContext(budget_file=parse_budgets(budgets))
    controller = CapacityController(environment, CapacitySettings(scenario="intent"))
    controller.start_step(40.0)
    recorder = environment.agentload.recorder
    for _ in range(samples):
        record_sample(recorder, Sample("intent_inference_latency", latency_ms, "ok", status=200))
    recorder.count("dropped_iterations", dropped)
    return controller


def test_a_step_waits_for_min_samples_then_judges() -> None:
    """Too few samples: no verdict yet (None); at the step's time limit that is a break."""
    assert controller_with(10, 100.0).judge(2.0, final=False) is None
    step = controller_with(10, 100.0).judge(2.0, final=True)
    assert step.broken == ("intent_inference_latency p95",) and not step.held


def test_a_step_holds_or_breaks_on_its_own_samples() -> None:
    """60 fast samples hold (goodput = all of them); 60 slow ones break with the observed P95."""
    held = controller_with(60, 100.0).judge(2.0, final=False)
    assert held.held and held.goodput_per_s == 30.0 and held.requests == 60
    broke = controller_with(60, 300.0).judge(2.0, final=False)
    assert broke.broken == ("intent_inference_latency p95",)
    assert broke.observed["intent_inference_latency p95"] == pytest.approx(300.0, rel=1e-3)
    assert broke.goodput_per_s == 0.0


def test_dropped_iterations_break_a_step() -> None:
    """A step whose budgets hold still breaks when the generator dropped iterations."""
    step = controller_with(60, 100.0, dropped=3).judge(2.0, final=False)
    assert step.broken == ("dropped_iterations",) and step.dropped == 3
