"""The budgets.yaml loader: every rule has a bad file and the exact one-line message it must give."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentload.budgets import Budget, BudgetError, BudgetFile, Policy, load_budgets, parse_budgets
from agentload.budgets.model import CRITICALITIES
from agentload.budgets.units import parse_count, parse_duration, parse_margin, parse_number, parse_rate

SHIPPED = Path(__file__).resolve().parents[2] / "budgets.yaml"

ONE = "budgets:\n  - metric: intent_inference_latency\n    stat: p95\n    threshold: 800ms\n"


def budget(*lines: str) -> str:
    """A budgets file with one budget made of `lines` (each a `key: value`), starting at line 2."""
    return "budgets:\n  - " + "\n    ".join(lines) + "\n"


def p95(*extra: str) -> str:
    """A valid P95 budget plus `extra` lines: `extra[0]` is on line 5."""
    return budget("metric: intent_inference_latency", "stat: p95", "threshold: 800ms", *extra)


def policy(*lines: str) -> str:
    """The one-budget file plus a policy block whose first key is on line 6."""
    return ONE + "policy:\n  " + "\n  ".join(lines) + "\n"


BAD_FILES = [
    # the file as a whole
    ("", 'b.yaml: empty file (expected a mapping with a "budgets" list)'),
    ("# nothing but a comment\n", 'b.yaml: empty file (expected a mapping with a "budgets" list)'),
    ("budgets: [\n", "b.yaml:2: invalid YAML: expected the node content, but found '<stream end>'"),
    ("a: 'b\n", "b.yaml:2: invalid YAML: found unexpected end of stream"),
    ("a:\tb\n\tc: d\n", "b.yaml:1: invalid YAML: found character '\\t' that cannot start any token"),
    (
        "a: b\n\x00",
        "b.yaml:2: invalid YAML: unacceptable character #x0000: special characters are not allowed",
    ),
    ("a: 1\n---\nb: 2\n", "b.yaml:2: invalid YAML: but found another document"),
    ("- a\n- b\n", 'b.yaml:1: must be a mapping with a "budgets" list (got a list)'),
    ("hello\n", 'b.yaml:1: must be a mapping with a "budgets" list (got "hello")'),
    ("1: 2\n", 'b.yaml:1: keys must be words like budgets (got "1")'),
    ("policy: {}\n", "b.yaml:1: budgets: missing, expected a list of budgets"),
    (
        ONE + "budgetz: []\n",
        'b.yaml:5: budgetz: unknown key, did you mean "budgets"? (expected one of: budgets, metrics, policy)',
    ),
    (ONE + "zzz: 1\n", "b.yaml:5: zzz: unknown key (expected one of: budgets, metrics, policy)"),
    ("budgets: []\n", "b.yaml:1: budgets: must be a non-empty list of budgets (got an empty list)"),
    ("budgets:\n", "b.yaml:1: budgets: must be a non-empty list of budgets (got nothing)"),
    ("budgets: 5\n", 'b.yaml:1: budgets: must be a non-empty list of budgets (got "5")'),
    (
        "budgets:\n  - 5\n",
        'b.yaml:2: budgets[0]: must be a mapping with metric, stat and threshold (got "5")',
    ),
    # hostile YAML
    ("budgets: &a [1]\nx: *a\n", 'b.yaml:2: YAML aliases are not supported (got "*a")'),
    ("budgets: " + "[" * 100 + "]" * 100 + "\n", "b.yaml:1: nested more than 32 levels deep"),
    (
        "budgets:\n  - metric: !!python/name:os.system x\n",
        'b.yaml:2: budgets[0].metric: unsupported YAML tag "tag:yaml.org,2002:python/name:os.system"',
    ),
    ("budgets:\n  - !custom {}\n", 'b.yaml:2: budgets[0]: unsupported YAML tag "!custom"'),
    # budget keys
    (
        p95("metirc: x"),
        'b.yaml:5: budgets[0].metirc: unknown key, did you mean "metric"? (expected one of: metric, '
        "stat, threshold, criticality, warn_margin, min_samples, comparison, name, stage, after, before, "
        "turn)",
    ),
    (p95("stat: p90"), "b.yaml:5: budgets[0].stat: duplicate key"),
    (
        budget("stat: p95"),
        "b.yaml:2: budgets[0].metric: missing, expected a metric name like intent_inference_latency",
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95"),
        "b.yaml:2: budgets[0].threshold: missing, expected a duration like 800ms",
    ),
    (
        budget("metric: intent_inference_latency", "threshold: 1"),
        "b.yaml:2: budgets[0].stat: missing, expected one of p50, p90, p95, p99, avg, min, med, max "
        "for a duration metric",
    ),
    # metric and stat
    (
        budget("metric: intent_latency", "stat: p95", "threshold: 1"),
        'b.yaml:2: budgets[0].metric: must be a known metric, did you mean "intent_inference_latency"? '
        '(got "intent_latency")',
    ),
    (
        budget("metric: [a]", "stat: p95", "threshold: 1"),
        "b.yaml:2: budgets[0].metric: must be a metric name like intent_inference_latency (got a list)",
    ),
    (
        budget("metric: intent_inference_latency", "stat: p97", "threshold: 1"),
        "b.yaml:3: budgets[0].stat: must be one of p50, p90, p95, p99, avg, min, med, max "
        'for a duration metric (got "p97")',
    ),
    (
        budget("metric: error_rate", "stat: p95", "threshold: 1%"),
        'b.yaml:3: budgets[0].stat: must be "rate" for a rate metric (or left out) (got "p95")',
    ),
    (
        budget("metric: http_5xx", "stat: rate", "threshold: 0"),
        'b.yaml:3: budgets[0].stat: must be "count" for a count metric (or left out) (got "rate")',
    ),
    # thresholds and units
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: fast"),
        'b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got "fast")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: 800 parsecs"),
        'b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got "800 parsecs")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: true"),
        'b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got "true")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold:"),
        "b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got nothing)",
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: -5ms"),
        'b.yaml:4: budgets[0].threshold: must not be negative (got "-5ms")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: 0"),
        'b.yaml:4: budgets[0].threshold: must be greater than 0 (got "0")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: 0s"),
        'b.yaml:4: budgets[0].threshold: must be greater than 0 (got "0s")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: 1e999"),
        'b.yaml:4: budgets[0].threshold: must be a duration like 800ms, a finite number (got "1e999")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: .nan"),
        'b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got ".nan")',
    ),
    (
        budget("metric: intent_inference_latency", "stat: p95", "threshold: " + "9" * 5000),
        'b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got "' + "9" * 40 + '...")',
    ),
    (
        budget("metric: chat_tokens_per_second", "stat: p50", "threshold: 20ms"),
        'b.yaml:4: budgets[0].threshold: must be a number like 20 or 2.5 (got "20ms")',
    ),
    (
        budget("metric: chat_tokens_per_second", "stat: p50", "threshold: -2"),
        'b.yaml:4: budgets[0].threshold: must be greater than 0 (got "-2")',
    ),
    (
        budget("metric: error_rate", "threshold: 1"),
        "b.yaml:3: budgets[0].threshold: must be a rate like 1% or 0.01 "
        '(a bare number is a fraction below 1; got "1")',
    ),
    (
        budget("metric: error_rate", "threshold: 150%"),
        'b.yaml:3: budgets[0].threshold: must be a rate like 1% or 0.01, at most 100% (got "150%")',
    ),
    (
        budget("metric: error_rate", "threshold: 0%"),
        'b.yaml:3: budgets[0].threshold: must be greater than 0 (got "0%")',
    ),
    (
        budget("metric: http_5xx", "threshold: 1.5"),
        'b.yaml:3: budgets[0].threshold: must be a whole number like 0 or 25 (got "1.5")',
    ),
    (
        budget("metric: http_5xx", "threshold: -1"),
        'b.yaml:3: budgets[0].threshold: must not be negative (got "-1")',
    ),
    # the optional budget keys
    (
        p95("criticality: URGENT"),
        'b.yaml:5: budgets[0].criticality: must be one of CRITICAL, HIGH, MEDIUM, LOW (got "URGENT")',
    ),
    (
        p95("warn_margin: 100%"),
        'b.yaml:5: budgets[0].warn_margin: must be a margin like 10% or 0.1, below 100% (got "100%")',
    ),
    (
        p95("warn_margin: -0.1"),
        'b.yaml:5: budgets[0].warn_margin: must not be negative (got "-0.1")',
    ),
    (p95("min_samples: 0"), 'b.yaml:5: budgets[0].min_samples: must be at least 1 (got "0")'),
    (
        p95("min_samples: 2.5"),
        'b.yaml:5: budgets[0].min_samples: must be a whole number like 0 or 25 (got "2.5")',
    ),
    (
        p95("comparison: >"),
        'b.yaml:5: budgets[0].comparison: must be "<" (stay below) or ">" (stay above; write it quoted: '
        'comparison: ">") (got "")',
    ),
    (
        p95("comparison: <="),
        'b.yaml:5: budgets[0].comparison: must be "<" (stay below) or ">" (stay above; write it quoted: '
        'comparison: ">") (got "<=")',
    ),
    (
        p95("name: [1]"),
        "b.yaml:5: budgets[0].name: must be a one-line label of at most 200 characters (got a list)",
    ),
    (
        p95("name: " + "x" * 201),
        "b.yaml:5: budgets[0].name: must be a one-line label of at most 200 characters "
        '(got "' + "x" * 40 + '...")',
    ),
    (
        ONE + "  - metric: intent_inference_latency\n    stat: p95\n    threshold: 900ms\n",
        "b.yaml:5: budgets[1]: duplicate of budgets[0] "
        "(same metric, labels, stage, window, stat and comparison)",
    ),
    (
        ONE.replace("p95", "p50")
        + "  - metric: intent_inference_latency\n    stat: med\n    threshold: 1s\n",
        "b.yaml:5: budgets[1]: duplicate of budgets[0] "
        "(same metric, labels, stage, window, stat and comparison)",
    ),
    # policy
    (ONE + "policy: [1]\n", "b.yaml:5: policy: must be a mapping of policy switches (got a list)"),
    (
        policy("extra: 1"),
        "b.yaml:6: policy.extra: unknown key (expected one of: fail_on, inconclusive_fails, "
        "shed_counts_as_error, fail_on_5xx, lost_workers_fail, regression_fails, regression_margin)",
    ),
    (
        policy('inconclusive_fails: "true"'),
        'b.yaml:6: policy.inconclusive_fails: must be true or false (got "true")',
    ),
    (policy("fail_on_5xx: 1"), 'b.yaml:6: policy.fail_on_5xx: must be true or false (got "1")'),
    (
        policy("fail_on: HIGH"),
        "b.yaml:6: policy.fail_on: must be a list of criticalities like [CRITICAL, HIGH, MEDIUM, LOW] "
        '(got "HIGH")',
    ),
    (
        policy("fail_on: [HIGH, URGENT]"),
        'b.yaml:6: policy.fail_on[1]: must be one of CRITICAL, HIGH, MEDIUM, LOW (got "URGENT")',
    ),
    (
        policy("regression_margin: lots"),
        'b.yaml:6: policy.regression_margin: must be a margin like 10% or 0.1 (got "lots")',
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_bad_file_gives_exact_message(text: str, message: str) -> None:
    """Each rule of the format rejects its bad file with the exact one-line message and line."""
    with pytest.raises(BudgetError) as caught:
        parse_budgets(text, "b.yaml")
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_missing_file_is_named(tmp_path: Path) -> None:
    """A missing file is a BudgetError naming the path as given."""
    path = tmp_path / "nope.yaml"
    with pytest.raises(BudgetError) as caught:
        load_budgets(path)
    assert str(caught.value) == f"{path}: cannot read file: No such file or directory"


def test_directory_is_unreadable(tmp_path: Path) -> None:
    """A directory instead of a file is a BudgetError, not an OSError."""
    with pytest.raises(BudgetError, match="cannot read file"):
        load_budgets(tmp_path)


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give the line and offset of the first bad byte."""
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"budgets:\n  - metric: caf\xe9\n")
    with pytest.raises(BudgetError) as caught:
        load_budgets(str(path))
    assert str(caught.value) == f"{path}:2: not UTF-8 text (byte 0xe9 at offset 24)"


def test_too_large_is_refused() -> None:
    """Text beyond a megabyte is refused before it is parsed."""
    with pytest.raises(BudgetError, match=r"^b\.yaml: file too large \(1000001 characters"):
        parse_budgets("#" * 1_000_001, "b.yaml")


def test_good_file_parses_into_dataclasses() -> None:
    """Every key of a budget and of the policy lands in the dataclasses, in the metric's unit."""
    text = budget(
        "metric: chat_tokens_per_second",
        "stat: P50",
        "threshold: 20",
        "criticality: low",
        "warn_margin: 5%",
        "min_samples: 50",
        'comparison: ">"',
        "name: tokens per second",
    ) + (
        "policy:\n  fail_on: [HIGH, CRITICAL, HIGH]\n  inconclusive_fails: no\n"
        "  shed_counts_as_error: false\n  fail_on_5xx: false\n  lost_workers_fail: false\n"
        "  regression_fails: true\n  regression_margin: 0.25\n"
    )
    expected = BudgetFile(
        budgets=(
            Budget("chat_tokens_per_second", "p50", 20.0, "LOW", 0.05, 50, ">", "tokens per second", 2),
        ),
        policy=Policy(("CRITICAL", "HIGH"), False, False, False, False, True, 0.25),
        path="x.yaml",
    )
    assert parse_budgets(text, "x.yaml") == expected


def test_defaults_and_omitted_stat() -> None:
    """Rates and counts need no stat; criticality, margin and policy take their documented defaults."""
    text = "budgets:\n  - metric: error_rate\n    threshold: 0.5%\n  - metric: http_5xx\n    threshold: 0\n"
    parsed = parse_budgets(text, "b.yaml")
    assert parsed.budgets == (
        Budget("error_rate", "rate", 0.005, line=2),
        Budget("http_5xx", "count", 0.0, line=4),
    )
    assert parsed.policy == Policy()
    assert parsed.policy.fail_on == CRITICALITIES


def test_empty_policy_block_means_defaults() -> None:
    """A `policy:` whose every line is commented out is the default policy."""
    assert parse_budgets(ONE + "policy:\n  # fail_on: [HIGH]\n", "b.yaml").policy == Policy()


def test_empty_fail_on_fails_on_nothing() -> None:
    """`fail_on: []` is allowed: no criticality fails the run."""
    assert parse_budgets(policy("fail_on: []"), "b.yaml").policy.fail_on == ()


def test_same_metric_different_comparison_is_not_duplicate() -> None:
    """Two budgets on one metric and stat are allowed when their comparisons differ."""
    text = budget("metric: chat_output_tokens", "stat: p50", "threshold: 10", 'comparison: ">"') + (
        "  - metric: chat_output_tokens\n    stat: p50\n    threshold: 900\n"
    )
    assert [b.comparison for b in parse_budgets(text, "b.yaml").budgets] == [">", "<"]


def test_anchor_without_alias_is_harmless() -> None:
    """An anchor that is never used as an alias does not stop the file from loading."""
    assert parse_budgets(ONE.replace("stat: p95", "stat: &s p95"), "b.yaml").budgets[0].stat == "p95"


def test_control_characters_are_escaped_in_message() -> None:
    """A value with a newline (a quoted YAML string) still gives a one-line message."""
    text = budget("metric: intent_inference_latency", "stat: p95", 'threshold: "8\\n00ms"')
    with pytest.raises(BudgetError) as caught:
        parse_budgets(text, "b.yaml")
    assert (
        str(caught.value) == 'b.yaml:4: budgets[0].threshold: must be a duration like 800ms (got "8\\n00ms")'
    )


def test_shipped_budgets_file_loads() -> None:
    """The budgets.yaml shipped at the repository root loads and holds the specified table."""
    shipped = load_budgets(SHIPPED)
    table = {(b.title, b.stat): (b.threshold, b.criticality) for b in shipped.budgets}
    assert table == {
        ("intent_inference_latency", "p95"): (800.0, "HIGH"),
        ("step_execution_latency", "p95"): (2000.0, "HIGH"),
        ("chat_response_latency", "p95"): (1500.0, "MEDIUM"),
        ("chat_time_to_first_token", "p95"): (500.0, "MEDIUM"),
        ("error_rate", "rate"): (0.01, "CRITICAL"),
        ("http_5xx", "count"): (0.0, "CRITICAL"),
        ("intent_inference_latency during hold 50", "p95"): (800.0, "HIGH"),
        ("chat_response_latency during hold 50", "p95"): (1500.0, "MEDIUM"),
        ("session", "p95"): (12_000.0, "HIGH"),
        ("session_error_rate", "rate"): (0.02, "CRITICAL"),
        ("chat_time_to_first_token{turn:>=5}", "p95"): (800.0, "MEDIUM"),
    }
    assert shipped.policy == Policy()


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("800ms", 800.0),
        ("2s", 2000.0),
        ("1.5s", 1500.0),
        ("250us", 0.25),
        ("250µs", 0.25),
        ("1m", 60_000.0),
        ("1h", 3_600_000.0),
        ("800", 800.0),
        (" 800 ms ", 800.0),
        (800, 800.0),
        (1.5, 1.5),
        ("0", 0.0),
    ],
)
def test_parse_duration_units(text: str | float, ms: float) -> None:
    """parse_duration reads every unit into milliseconds; a bare number is milliseconds."""
    assert parse_duration(text) == ms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fast", 'must be a duration like 800ms (got "fast")'),
        ("800 parsecs", 'must be a duration like 800ms (got "800 parsecs")'),
        ("800MS", 'must be a duration like 800ms (got "800MS")'),
        (True, 'must be a duration like 800ms (got "True")'),
        (None, 'must be a duration like 800ms (got "None")'),
        (float("nan"), 'must be a duration like 800ms, a finite number (got "nan")'),
        (10**400, 'must be a duration like 800ms, a finite number (got "' + "1" + "0" * 39 + '...")'),
        (-1, 'must not be negative (got "-1")'),
    ],
)
def test_parse_duration_errors(text: object, message: str) -> None:
    """parse_duration raises ValueError quoting the value for junk, NaN, huge and negative input."""
    with pytest.raises(ValueError) as caught:
        parse_duration(text)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_other_unit_parsers() -> None:
    """parse_rate, parse_margin, parse_count and parse_number read their documented forms."""
    assert parse_rate("1%") == pytest.approx(0.01)
    assert parse_rate("0.01") == 0.01
    assert parse_rate("100%") == 1.0
    assert parse_margin("10%") == pytest.approx(0.1)
    assert parse_margin(0) == 0.0
    assert parse_count("25") == 25
    assert parse_count(3.0) == 3
    assert parse_number("2.5") == 2.5
    with pytest.raises(ValueError, match="at most 2"):
        parse_count(2**60)
    with pytest.raises(ValueError, match=r'^must be a whole number like 0 or 25 \(got "False"\)$'):
        parse_count(False)  # type: ignore[arg-type]
