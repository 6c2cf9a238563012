"""The capacity search: coarse ramp, bisection, its verdict and exit codes, and its options."""

import pytest

from agentload.budgets.capacity import StepResult
from agentload.profiles.capacity import CapacitySearch, generator_limit, needed_seconds, shortfall
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
    assert "| 80/s | 10 | 0 | 80/s | 72/s | 0 | held |" in capacity_markdown(result)
    report = build_report(Snapshot({}, {}, {}), Verdict("FAIL", 1, ()))
    report["capacity"] = capacity_to_dict(result)
    validate_report(report)
    assert report["capacity"]["steps"][0] == {
        "rate_per_s": 20.0,
        "seconds": 10.0,
        "needed_s": 0.0,
        "requests": 200,
        "started": None,
        "achieved_per_s": 20.0,
        "goodput_per_s": 18.0,
        "dropped": 0,
        "held": True,
        "broken": [],
        "why": {},
        "generator_limit": None,
        "p95": {},
    }


def controller_with(
    samples: int, latency_ms: float, dropped: int = 0, started: int | None = None, budgets: str = ""
):
    """A real controller on a real Locust Environment, its current step (40/s) holding these samples."""
    from locust.env import Environment

    from agentload.budgets import parse_budgets
    from agentload.profiles.capacity_run import CapacityController
    from agentload.recording.samples import Sample, record_sample
    from agentload.run_context import RunContext
    from agentload.settings import CapacitySettings

    environment = Environment()
    budgets = budgets or (
        "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 200ms, min_samples: 50}\n"
    )
    environment.agentload = RunContext(budget_file=parse_budgets(budgets))
    controller = CapacityController(environment, CapacitySettings(scenario="intent"))
    controller.start_step(40.0)
    recorder = environment.agentload.recorder
    for _ in range(samples):
        record_sample(recorder, Sample("intent_inference_latency", latency_ms, "ok", status=200))
    recorder.count("iterations", samples if started is None else started)
    recorder.count("dropped_iterations{cause:max_concurrency}", dropped)
    return controller


def test_a_step_waits_for_min_samples_then_judges() -> None:
    """Too few samples: no verdict yet (None); at the step's time limit that is a break, said in words."""
    assert controller_with(10, 100.0, started=80).judge(2.0, final=False) is None
    step = controller_with(10, 100.0, started=80).judge(2.0, final=True)
    assert step.broken == ("intent_inference_latency p95",) and not step.held
    assert step.why == {"intent_inference_latency p95": "only 10 samples, 50 needed in 2 s"}


def test_a_step_holds_or_breaks_on_its_own_samples() -> None:
    """60 fast samples hold (goodput = all of them); 60 slow ones break with the observed P95."""
    held = controller_with(60, 100.0, started=80).judge(2.0, final=False)
    assert held.held and held.goodput_per_s == 30.0 and held.requests == 60
    assert held.achieved_per_s == 40.0  # completed plus in flight
    broke = controller_with(60, 300.0, started=80).judge(2.0, final=False)
    assert broke.broken == ("intent_inference_latency p95",)
    assert broke.observed["intent_inference_latency p95"] == pytest.approx(300.0, rel=1e-3)
    assert broke.goodput_per_s == 0.0


def test_dropped_iterations_break_a_step() -> None:
    """A step whose budgets hold still breaks when the generator dropped iterations."""
    step = controller_with(60, 100.0, dropped=3, started=78).judge(2.0, final=False)
    assert step.broken == ("dropped_iterations",) and step.dropped == 3


def test_a_platform_that_did_not_keep_up_breaks_the_step() -> None:
    """Budgets held, but only 60 of the 80 offered iterations started: the step broke on throughput."""
    step = controller_with(60, 100.0, started=60).judge(2.0, final=False)
    assert step.broken == ("throughput",) and step.why == {"throughput": "achieved 30/s of 40/s offered"}


def test_a_rate_budget_short_of_samples_breaks_in_words_never_as_zero() -> None:
    """A 1% error budget with 80 clean requests (300 needed) at the time limit: the reason, no `= 0`."""
    from agentload.reporting.capacity import headline

    budgets = "budgets:\n  - {metric: error_rate, stat: rate, threshold: 1%}\n"
    step = controller_with(80, 100.0, budgets=budgets).judge(60.0, final=True)
    assert step.why["error_rate rate"] == "only 80 samples, 300 needed in 60 s"
    search = CapacitySearch(start=5.0)
    search.record(StepResult(5.0, 10.0, 50, goodput_per_s=5.0))
    search.record(step)
    text = headline(search.result("intent"))
    assert "broke at 40/s: error_rate rate: only 80 samples, 300 needed in 60 s" in text
    assert "= 0" not in text


def test_step_lasts_as_long_as_its_budgets_need_whatever_the_time_scale() -> None:
    """A 1% error budget at 10/s needs 30 s (with slack 36 s) even at --time-scale 4."""
    budgets = "budgets:\n  - {metric: error_rate, stat: rate, threshold: 1%}\n"
    controller = controller_with(0, 100.0, budgets=budgets)
    controller.scale = 4.0
    assert needed_seconds(300, 10.0) == 30.0
    assert controller.step_seconds(10.0) == pytest.approx(36.0)
    assert controller.step_seconds(1000.0) == pytest.approx(2.5)  # MIN_STEP_S / time scale
    assert controller.step_seconds(0.5) == 120.0  # bounded: MAX_STEP_S


def test_generator_limit_reads_overdue_drops_and_late_starts() -> None:
    """Overdue drops beyond 1% or a late P95 start are the generator's; the platform's drops are not."""
    assert generator_limit(1000, 0, 3.0) == ""
    assert generator_limit(1000, 10, 3.0) == ""  # 1%: noise
    assert "11 of 1000 iterations dropped overdue" in generator_limit(1000, 11, 3.0)
    assert generator_limit(1000, 0, 200.0) == ""
    assert "started 350 ms late at p95" in generator_limit(1000, 0, 350.0)
    assert generator_limit(1000, 0, None) == ""


def test_shortfall_allows_the_edges_and_a_few_percent() -> None:
    """Completed plus in flight within 5% (less two edge iterations) of the offered rate keeps up."""
    assert shortfall(80.0, 10.0, 760) == ""
    assert shortfall(80.0, 10.0, 758) == ""
    assert shortfall(80.0, 10.0, 700) == "achieved 70/s of 80/s offered"


def test_a_generator_bound_step_ends_the_sweep_with_exit_3() -> None:
    """The sweep stops at the first step the generator could not drive: a floor, exit 3, said so."""
    from agentload.reporting.capacity import capacity_line, headline

    search = CapacitySearch(start=100.0)
    search.record(StepResult(100.0, 5.0, 500, goodput_per_s=100.0))
    search.record(StepResult(200.0, 5.0, 700, generator_limit="iterations started 400 ms late at p95"))
    assert search.next_rate() is None
    result = search.result("intent")
    assert (result.max_rate_per_s, result.broke_at_per_s) == (100.0, None)
    assert result.generator_limit_per_s == 200.0
    assert result.exit_code == 3
    assert headline(result).startswith("capacity >= 100/s: the generator's limit, not the platform's")
    assert capacity_line(result, 3) == "capacity >= 100/s: the generator's limit, not the platform's (exit 3)"
