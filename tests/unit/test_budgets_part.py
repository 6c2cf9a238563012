"""Budgets on part of a run: a stage's deltas, or the labeled series whose labels match, merged exactly."""

from __future__ import annotations

import pytest

from agentload.budgets import BudgetError, evaluate, parse_budgets
from agentload.budgets.part import parse_matcher, part_of_run
from agentload.recording.labels import MAX_VALUES, declare_label
from agentload.recording.recorder import Aggregate, Recorder
from agentload.recording.samples import Sample, record_sample


def run_with_turns() -> Aggregate:
    """Turn t's time to first token is 100 * t ms (ten chats per turn), in stage "hold" for t >= 3."""
    recorder = Recorder()
    for turn in range(1, 7):
        recorder.stage = "hold" if turn >= 3 else "ramp"
        for _ in range(10):
            sample = Sample("chat_response_latency", 1000.0, "ok", ttft_ms=100.0 * turn)
            sample.labels = {"turn": str(turn)}
            record_sample(recorder, sample)
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    return aggregate


@pytest.mark.parametrize(
    ("text", "matching"),
    [(">=5", ["5", "6"]), ("<3", ["1", "2"]), ("4", ["4"]), (">2.5", ["3", "4", "5", "6"])],
)
def test_matcher_selects_label_values(text: str, matching: list[str]) -> None:
    """A comparison matches numeric label values; any other text matches itself only."""
    match = parse_matcher(text)
    assert [value for value in ["1", "2", "3", "4", "5", "6", "x"] if match(value)] == matching


def test_turn_budget_merges_only_the_matching_series() -> None:
    """`turn: ">=5"` reads turns 5 and 6 only: 20 samples, min 500 ms, and their requests' count."""
    budgets = parse_budgets(
        'budgets:\n  - {metric: chat_time_to_first_token, stat: min, threshold: 1s, turn: ">=5"}\n'
    )
    part = part_of_run(budgets.budgets[0], run_with_turns().snapshot())
    histogram = part.histograms["chat_time_to_first_token"]
    assert (histogram.count, histogram.min, histogram.max) == (20, 500.0, 600.0)
    assert part.counter("requests") == 20
    verdict = evaluate(budgets, run_with_turns().snapshot())
    assert verdict.results[0].observed == 500.0 and verdict.results[0].samples == 20


def test_stage_budget_reads_one_stage() -> None:
    """`stage: hold` reads turns 3-6 only; the whole run's TTFT minimum is turn 1's."""
    budgets = parse_budgets(
        "budgets:\n"
        "  - {metric: chat_time_to_first_token, stat: min, threshold: 250ms, stage: hold}\n"
        "  - {metric: chat_time_to_first_token, stat: min, threshold: 250ms}\n"
    )
    staged, whole = evaluate(budgets, run_with_turns().snapshot()).results[:2]
    assert (staged.observed, staged.samples, staged.status) == (300.0, 40, "FAIL")
    assert (whole.observed, whole.samples, whole.status) == (100.0, 60, "PASS")
    assert staged.budget.label == "chat_time_to_first_token min during hold"


TURN = 'a value of turn (1 to 32) or a range like ">=5"'


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('turn: ">=40"', f'budgets[0].turn: must be {TURN} (got ">=40")'),
        ("turn: 0", f'budgets[0].turn: must be {TURN} (got "0")'),
        ('stage: ""', 'budgets[0].stage: must be a stage label like "hold 50"'),
    ],
)
def test_bad_part_of_run_is_a_one_line_error(line: str, message: str) -> None:
    """A label value nobody records or an empty stage names the file, line and key."""
    text = f"budgets:\n  - metric: chat_time_to_first_token\n    stat: p95\n    threshold: 1s\n    {line}\n"
    with pytest.raises(BudgetError) as caught:
        parse_budgets(text, "b.yaml")
    assert str(caught.value).startswith(f"b.yaml:5: {message}")


def test_a_label_with_too_many_values_is_refused() -> None:
    """Declaring a label with more than MAX_VALUES values is an error, not an unbounded series count."""
    with pytest.raises(ValueError, match=f"1 to {MAX_VALUES} values"):
        declare_label("request_id", range(MAX_VALUES + 1))


def test_an_undeclared_label_value_is_refused_when_recorded() -> None:
    """A sample whose label is outside its bounds raises instead of growing a new series."""
    sample = Sample("chat_response_latency", 1.0, "ok")
    sample.labels = {"turn": "99"}
    with pytest.raises(ValueError, match="turn='99' is not declared"):
        record_sample(Recorder(), sample)
