"""Hostile and random budgets files: the loader returns a BudgetFile or raises a one-line BudgetError."""

from __future__ import annotations

import string
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentload.budgets import BudgetError, BudgetFile, parse_budgets
from agentload.budgets.loader import BUDGET_KEYS
from agentload.recording.metrics import METRICS

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**320),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["800ms", "1%", "0", "p95", "rate", "count", "HIGH", "<", ">", "10%", "-1", "1e999"]),
)
structures = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
budget_values = st.one_of(scalars, st.sampled_from(sorted(METRICS)), structures)
budget_dicts = st.dictionaries(
    st.sampled_from([*BUDGET_KEYS, "extra"]),
    budget_values,
    max_size=8,
)
policy_dicts = st.dictionaries(
    st.sampled_from(
        ["fail_on", "inconclusive_fails", "fail_on_5xx", "regression_margin", "lost_workers_fail"]
    ),
    st.one_of(scalars, st.lists(st.sampled_from(["HIGH", "LOW", "x", ""]), max_size=3)),
    max_size=4,
)


def refusal(text: str) -> str:
    """The loader's one-line message for `text`, which it must refuse."""
    with pytest.raises(BudgetError) as refused:
        parse_budgets(text, "fuzz.yaml")
    return str(refused.value)


def check(text: str) -> None:
    """The loader's contract on any text: a BudgetFile, or a BudgetError whose message is one line."""
    try:
        result = parse_budgets(text, "fuzz.yaml")
    except BudgetError as error:
        message = str(error)
        assert message.startswith("fuzz.yaml"), message
        assert len(message.splitlines()) == 1, message
        assert len(message) < 1000, message
    else:
        assert isinstance(result, BudgetFile)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    """Arbitrary unicode text never escapes as anything but a one-line BudgetError."""
    check(text)


@FUZZ
@given(st.text(alphabet=string.printable + "&*!|>-?[]{}:#%@`'\"µ\u2028\x85", max_size=200))
def test_yaml_punctuation(text: str) -> None:
    """Text dense in YAML indicators (anchors, tags, flow and block markers) is handled."""
    check(text)


@FUZZ
@given(structures)
def test_random_structures(data: Any) -> None:
    """Any YAML-dumpable structure, huge numbers and NaN included, is accepted or refused cleanly."""
    check(yaml.safe_dump(data))


@FUZZ
@given(st.lists(budget_dicts, max_size=4), st.one_of(st.none(), policy_dicts))
def test_budget_shaped_structures(budgets: list[dict[str, Any]], policy: dict[str, Any] | None) -> None:
    """Files shaped like budget files, with wrong or odd values in every key, reach every check safely."""
    document: dict[str, Any] = {"budgets": budgets}
    if policy is not None:
        document["policy"] = policy
    check(yaml.safe_dump(document, allow_unicode=True))


@FUZZ
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", "{a: ", "- ", "{? "]))
def test_deep_nesting(depth: int, opener: str) -> None:
    """Deeply nested flow and block collections are refused without a RecursionError."""
    block = "".join("  " * i + "-\n" for i in range(depth))
    check(block if opener == "- " else "budgets: " + opener * depth)


@FUZZ
@given(st.integers(min_value=1, max_value=6000), st.sampled_from(["", "ms", "%", ".5", "e999", "e-999"]))
def test_huge_numbers(digits: int, suffix: str) -> None:
    """Numbers with thousands of digits or extreme exponents in every numeric position are refused cleanly."""
    number = "9" * digits + suffix
    for metric, key in [
        ("intent_inference_latency", "threshold"),
        ("error_rate", "threshold"),
        ("http_5xx", "threshold"),
        ("http_5xx", "min_samples"),
        ("step_execution_latency", "warn_margin"),
    ]:
        stat = "p95" if metric.endswith("latency") else ("rate" if metric == "error_rate" else "count")
        threshold = "" if key == "threshold" else "    threshold: 1\n"
        check(f"budgets:\n  - metric: {metric}\n    stat: {stat}\n{threshold}    {key}: {number}\n")


@FUZZ
@given(st.integers(min_value=1, max_value=12), st.integers(min_value=2, max_value=12))
def test_alias_bombs(levels: int, width: int) -> None:
    """Billion-laughs alias expansion is refused at the first alias, whatever its size."""
    lines = ["a0: &a0 [lol]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    text = "\n".join(lines) + "\n"
    check(text)
    assert refusal(text) == 'fuzz.yaml:2: YAML aliases are not supported (got "*a0")'


LONG_VALUE_REASONS = {
    "metric": "budgets[0].metric: must be a known metric",
    "stat": "budgets[0].stat: must be one of",
    "threshold": "budgets[0].threshold: must be a duration",
    "name": "budgets[0].name: must be a one-line label of at most 200 characters",
    "key": "budgets[0].key: unknown key",
}


@FUZZ
@given(
    st.text(min_size=1000, max_size=20_000), st.sampled_from(["metric", "stat", "threshold", "name", "key"])
)
def test_very_long_strings(value: str, key: str) -> None:
    """Very long values and keys are refused with a short, quoted, one-line message."""
    budget = {"metric": "intent_inference_latency", "stat": "p95", "threshold": "800ms", key: value}
    text = yaml.safe_dump({"budgets": [budget]})
    check(text)
    assert LONG_VALUE_REASONS[key] in refusal(text)
    top_level = yaml.safe_dump({value: 1})
    check(top_level)
    assert "unknown key (expected one of: budgets, metrics, policy)" in refusal(top_level)


def test_extreme_nesting_once() -> None:
    """One hundred thousand nested lists are refused with a one-line error, not a RecursionError."""
    check("budgets: " + "[" * 100_000 + "]" * 100_000)
