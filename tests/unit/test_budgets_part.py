"""Budgets on part of a run: a stage, a window's slots, or the matching labeled series, merged exactly."""

from __future__ import annotations

import pytest

from agentload.budgets import BudgetError, evaluate, parse_budgets
from agentload.budgets.part import parse_matcher, part_of_run, recording_plan
from agentload.recording.labels import MAX_VALUES, declare_label
from agentload.recording.recorder import Aggregate, Recorder
from agentload.recording.samples import Sample, record_sample
from agentload.recording.windows import RecordingPlan


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
WINDOW = "a time since test start like 60s"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('turn: ">=40"', f'budgets[0].turn: must be {TURN} (got ">=40")'),
        ("turn: 0", f'budgets[0].turn: must be {TURN} (got "0")'),
        ('stage: ""', 'budgets[0].stage: must be a stage label like "hold 50"'),
        ("after: -5s", f'budgets[0].after: must be {WINDOW} (got "-5s")'),
        ("after: soon", f'budgets[0].after: must be {WINDOW} (got "soon")'),
        ("before: 0s", f'budgets[0].before: must be {WINDOW} (got "0s")'),
        ("before: 30s\n    after: 60s", 'budgets[0].before: must be later than after (got "30s")'),
    ],
)
def test_bad_part_of_run_is_a_one_line_error(line: str, message: str) -> None:
    """A label value nobody records, an empty stage or a bad window names the file, line and key."""
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


def run_with_a_slow_start() -> Aggregate:
    """Intents take 900 ms before 10 s, 100 ms from 10 s on (20 each); slot 30 s holds 10 more at 100 ms."""
    recorder = Recorder()
    for slot, latency, n in ((0.0, 900.0, 20), (10.0, 100.0, 20), (30.0, 100.0, 10)):
        recorder.slot = slot
        for _ in range(n):
            record_sample(recorder, Sample("intent_inference_latency", latency, "ok"))
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    return aggregate


WINDOW_BUDGETS = """
budgets:
  - {metric: intent_inference_latency, stat: max, threshold: 500ms, after: 10s}
  - {metric: intent_inference_latency, stat: max, threshold: 500ms}
  - {metric: intent_inference_latency, stat: max, threshold: 500ms, before: 10s}
  - {metric: intent_inference_latency, stat: max, threshold: 500ms, after: 10s, before: 30s}
  - {metric: requests, threshold: 100, after: 30s}
"""


def test_a_window_budget_judges_only_its_slots() -> None:
    """`after: 10s` leaves the slow start out and passes; the whole run fails; the counts add up exactly."""
    after, whole, before, between, requests = evaluate(
        parse_budgets(WINDOW_BUDGETS), run_with_a_slow_start().snapshot()
    ).results[:5]
    assert (after.status, after.observed, after.samples) == ("PASS", 100.0, 30)
    assert (whole.status, whole.observed, whole.samples) == ("FAIL", 900.0, 50)
    assert (before.status, before.samples) == ("FAIL", 20)
    assert (between.samples, requests.observed) == (20, 10.0)
    assert after.budget.label == "intent_inference_latency max after 10s"
    assert between.budget.title == "intent_inference_latency from 10s to 30s"


def test_a_window_with_no_samples_says_which_window() -> None:
    """A window after the run's end has nothing to judge: INCONCLUSIVE, the reason naming the window."""
    text = "budgets:\n  - {metric: intent_inference_latency, stat: max, threshold: 1s, after: 1h}\n"
    budgets = parse_budgets(text)
    (result,) = evaluate(budgets, run_with_a_slow_start().snapshot()).results[:1]
    assert (result.status, result.reason) == ("INCONCLUSIVE", "no samples after 3600s, 1 needed")


def test_the_recording_plan_names_every_boundary_and_only_optional_labels() -> None:
    """Every after/before becomes a slot boundary once; `turn` is the users' own, `user` is asked for."""
    budgets = parse_budgets(
        "budgets:\n"
        "  - {metric: chat_time_to_first_token, stat: p95, threshold: 1s, after: 60s, turn: '>=2'}\n"
        "  - {metric: chat_time_to_first_token, stat: p95, threshold: 1s, after: 10s, before: 60s}\n"
        "  - {metric: error_rate, threshold: 1%, before: 5m}\n"
    )
    assert recording_plan(budgets) == RecordingPlan(windows=(10.0, 60.0, 300.0), labels=frozenset())


def test_a_user_budget_with_too_many_user_classes_is_refused(monkeypatch) -> None:
    """Past the label bound the `user` label is not declared: a budget naming it is a one-line error."""
    from agentload.recording import labels

    why = f"70 user classes, a label takes at most {MAX_VALUES} values"
    monkeypatch.setitem(labels.UNBOUNDED, "user", why)
    text = "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 1s, user: Chat}\n"
    with pytest.raises(BudgetError) as caught:
        parse_budgets(text, "b.yaml")
    assert str(caught.value) == f"b.yaml:2: budgets[0].user: cannot be judged: {why}"


def test_a_user_budget_reads_one_class_and_asks_for_the_label(monkeypatch) -> None:
    """`user: Planner` merges that class's series only, and puts `user` in the recording plan."""
    from agentload.recording import labels

    monkeypatch.setitem(labels.BOUNDS, "user", frozenset({"Asker", "Planner"}))
    recorder = Recorder()
    for user, latency in (("Asker", 100.0), ("Planner", 300.0), ("Planner", 500.0)):
        sample = Sample("intent_inference_latency", latency, "ok")
        sample.labels = {"user": user}
        record_sample(recorder, sample)
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    text = "budgets:\n  - {metric: intent_inference_latency, stat: min, threshold: 1s, user: Planner}\n"
    budgets = parse_budgets(text)
    (result,) = evaluate(budgets, aggregate.snapshot()).results[:1]
    assert (result.observed, result.samples) == (300.0, 2)
    assert recording_plan(budgets).labels == frozenset({"user"})
