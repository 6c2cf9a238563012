"""Console summary: k6 trend lines, exact duration formatting, padding, rates, budget table, NO_COLOR."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentload.budgets.model import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    WARN,
    Budget,
    BudgetResult,
    Regression,
    Verdict,
)
from agentload.budgets.units import parse_duration
from agentload.formatting import format_duration, format_number
from agentload.recording.histogram import Histogram
from agentload.recording.recorder import Snapshot
from agentload.reporting.console import ICONS, display_width, render_summary, trend_line
from agentload.reporting.summary import metric_summary

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hist(*values: float) -> Histogram:
    histogram = Histogram()
    for value in values:
        histogram.record(value)
    return histogram


def spec_snapshot(**counters: int) -> Snapshot:
    """The histograms of the specification's example summary (nearest-rank values chosen to match it)."""
    intent = hist(50, *[100] * 88, *[200] * 5, 250, *[350] * 4, 500)
    step = hist(200, 300, *[400] * 177, *[800] * 10, *[950] * 10, 1200)
    tokens = hist(10, *[30] * 7, *[40] * 81, *[60] * 5, *[70] * 5, 90)
    return Snapshot(
        histograms={
            "chat_output_tokens": tokens,
            "step_execution_latency": step,
            "intent_inference_latency": intent,
        },
        counters={"requests": 1000, "errors": 0, "shed": 0, **counters},
        errors={},
    )


def result(status: str, observed: float | None = 250.0, **budget_fields: object) -> BudgetResult:
    budget = Budget(
        **{"metric": "intent_inference_latency", "stat": "p95", "threshold": 800.0, **budget_fields}
    )
    return BudgetResult(budget, status, observed, 1000, ci_low=240.0, ci_high=262.0)


def verdict(*results: BudgetResult, status: str = PASS, exit_code: int = 0, **extra: object) -> Verdict:
    return Verdict(status=status, exit_code=exit_code, results=tuple(results), **extra)


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0.85, "850µs"),
        (0.0125, "12.5µs"),
        (950.0, "950ms"),
        (799.5, "799.5ms"),
        (12.345, "12.35ms"),
        (1200.0, "1.2s"),
        (1460.0, "1.46s"),
        (1459.8, "1.46s"),
        (999.996, "1s"),
        (62_000.0, "1m2s"),
        (62_500.0, "1m2.5s"),
        (3_723_000.0, "1h2m3s"),
        (0.0, "0s"),
    ],
)
def test_format_duration_k6_units(ms: float, text: str) -> None:
    """Durations use k6 units (µs, ms, s, 1m2s) with at most two decimals and no trailing zeros."""
    assert format_duration(ms) == text


def test_format_duration_hides_bucket_noise() -> None:
    """A value off by a bucket half-width (250.0475 ms) still reads 250ms, and 40.0155 reads 40."""
    assert format_duration(250.0475) == "250ms"
    assert format_number(40.0155) == "40"


@given(st.floats(min_value=0.001, max_value=59_000.0, allow_nan=False))
def test_format_duration_round_trips_within_half_a_percent(ms: float) -> None:
    """Parsing the formatted duration gives the value back within 0.5% (no 1.46s -> 1.5s rounding)."""
    assert parse_duration(format_duration(ms)) == pytest.approx(ms, rel=0.005)


def test_1460_ms_p95_shows_as_1_46s() -> None:
    """A 1,460 ms P95 is printed as p(95)=1.46s, never 1.5s."""
    line = trend_line("chat_response_latency", metric_summary(hist(*[1000.0] * 94, *[1460.0] * 5, 1490.0)))
    assert "p(95)=1.46s" in line
    assert "max=1.49s" in line


def test_seed_example_lines_exact() -> None:
    """The metric block reproduces the specification's k6 lines exactly: order, dots, values, error_rate."""
    text = render_summary(spec_snapshot(), verdict(), color=False)
    assert text.splitlines()[:4] == [
        "intent_inference_latency..: avg=120ms min=50ms med=100ms max=500ms p(90)=200ms p(95)=250ms",
        "step_execution_latency....: avg=450ms min=200ms med=400ms max=1.2s p(90)=800ms p(95)=950ms",
        "chat_output_tokens........: avg=42 min=10 med=40 max=90 p(90)=60 p(95)=70",
        "error_rate................: 0.00% (0/1000)",
    ]


def test_names_padded_to_a_common_width() -> None:
    """Every metric line has its colon in the same column, with at least two dots after the longest name."""
    snapshot = spec_snapshot(http_5xx=3, dropped_iterations=2, shed=5)
    lines = render_summary(snapshot, verdict(), color=False).split("\n\n")[0].splitlines()
    assert {line.index(":") for line in lines} == {len("intent_inference_latency") + 2}
    assert all(re.match(r"^[a-z0-9_]+\.{2,}: ", line) for line in lines)


def test_error_rate_counts_shed_by_policy() -> None:
    """error_rate counts hard plus shed errors by default, and hard errors only when shedding does not."""
    snapshot = spec_snapshot(errors=12, shed=3)
    assert "error_rate................: 1.50% (15/1000)" in render_summary(snapshot, verdict(), color=False)
    plain = render_summary(snapshot, verdict(), color=False, shed_counts_as_error=False)
    assert "error_rate................: 1.20% (12/1000)" in plain
    assert "shed_rate.................: 0.30% (3/1000)" in plain


def test_counter_lines_only_when_non_zero() -> None:
    """shed_rate, http_5xx and dropped_iterations lines appear only when their counters are non-zero."""
    quiet = render_summary(spec_snapshot(), verdict(), color=False)
    assert not re.search(r"^(shed_rate|http_5xx|dropped_iterations)\.", quiet, re.MULTILINE)
    noisy = render_summary(spec_snapshot(http_5xx=4, dropped_iterations=7), verdict(), color=False)
    assert "http_5xx..................: 4" in noisy
    assert "dropped_iterations........: 7" in noisy


def test_errors_by_name_top_ten() -> None:
    """Failures are listed by count, largest first, at most ten of them."""
    errors = {f"http 5{i:02d}": 20 - i for i in range(12)}
    snapshot = Snapshot(
        histograms={}, counters={"requests": 1000, "errors": sum(errors.values())}, errors=errors
    )
    text = render_summary(snapshot, verdict(), color=False)
    assert "errors by name (top 10 of 12):" in text
    assert re.search(r"^  http 500\.+: 20 \(2\.00%\)$", text, re.MULTILINE)
    assert "http 509" in text and "http 510" not in text


def test_no_color_prints_plain_words() -> None:
    """With color off there is no emoji and no ANSI escape, only the status words."""
    results = (result(PASS), result(WARN), result(FAIL), result(INCONCLUSIVE, observed=None))
    text = render_summary(spec_snapshot(), verdict(*results, status=FAIL, exit_code=1), color=False)
    assert "\x1b" not in text
    assert not any(icon in text for icon in ICONS.values())
    assert all(re.search(rf"^  {word}\s", text, re.MULTILINE) for word in (PASS, WARN, FAIL, INCONCLUSIVE))
    assert text.endswith("verdict: FAIL (exit 1)\n")


def test_color_uses_icons_and_ansi() -> None:
    """With color on each status gets its icon and an ANSI colour."""
    text = render_summary(
        spec_snapshot(), verdict(result(PASS), result(FAIL), status=FAIL, exit_code=1), color=True
    )
    assert "✅ PASS" in text and "❌ FAIL" in text and "\x1b[" in text
    assert ANSI.sub("", text).endswith("verdict: ❌ FAIL (exit 1)\n")


def test_budget_row_shows_every_column() -> None:
    """A budget row has status, metric, stat, observed with CI, threshold, samples, criticality, marginal."""
    marginal = BudgetResult(
        Budget("step_execution_latency", "p95", 900.0, "CRITICAL"),
        WARN,
        1460.0,
        1000,
        850.0,
        1520.0,
        True,
        "close",
    )
    text = render_summary(spec_snapshot(), verdict(marginal, status=WARN), color=False)
    row = next(line for line in text.splitlines() if line.startswith("  WARN"))
    assert row.split() == [
        "WARN",
        "step_execution_latency",
        "p95",
        "1.46s",
        "[850ms,",
        "1.52s]",
        "<",
        "900ms",
        "1000",
        "CRITICAL",
        "marginal",
    ]
    assert "step_execution_latency p95: close" in text


def test_budget_table_columns_align_with_emoji() -> None:
    """Columns after the status icon start at the same display column in every row."""
    results = (result(PASS), result(WARN), result(INCONCLUSIVE, observed=None), result(FAIL))
    text = ANSI.sub("", render_summary(spec_snapshot(), verdict(*results), color=True))
    rows = [line for line in text.splitlines() if "intent_inference_latency  " in line]
    starts = {display_width(row[: row.index("intent_inference_latency")]) for row in rows}
    assert len(rows) == 4 and len(starts) == 1


def test_inconclusive_without_data_and_rate_thresholds() -> None:
    """A budget with no samples reads "no data"; rate thresholds are shown as percentages."""
    no_data = BudgetResult(Budget("error_rate", "rate", 0.01), INCONCLUSIVE, None, 0)
    text = render_summary(spec_snapshot(), verdict(no_data, status=INCONCLUSIVE, exit_code=1), color=False)
    assert re.search(r"INCONCLUSIVE\s+error_rate\s+rate\s+no data\s+< 1\.00%\s+0\s+HIGH", text)


def test_incomplete_regressions_and_notes() -> None:
    """Incomplete reasons (verdict and snapshot, once each), regressions and notes precede the verdict."""
    snapshot = Snapshot(
        histograms={}, counters={}, errors={}, incomplete=("lost worker w1", "no samples for x")
    )
    v = verdict(
        status=WARN,
        exit_code=3,
        incomplete=("no samples for x",),
        regressions=(Regression("intent_inference_latency", 200.0, 260.0, 0.3, True),),
        notes=("regression: warning only",),
    )
    text = render_summary(snapshot, v, color=False)
    assert text.count("incomplete: no samples for x") == 1
    assert "incomplete: lost worker w1" in text
    assert "intent_inference_latency p95 200ms -> 260ms (+30.0%, significant)" in text
    assert "note: regression: warning only" in text
    assert text.endswith("verdict: WARN (exit 3)\n")


def test_empty_snapshot_still_renders() -> None:
    """A run with no samples at all prints error_rate 0.00% (0/0) and the verdict, without crashing."""
    text = render_summary(
        Snapshot(histograms={"intent_inference_latency": Histogram()}, counters={}, errors={}),
        verdict(),
        color=False,
    )
    assert text.splitlines()[0] == "error_rate..: 0.00% (0/0)"
    assert "budgets: none evaluated" in text


def test_stream_formats_line_names_each_format_seen() -> None:
    """The summary names the chat stream formats seen, most frequent first, and only when there were any."""
    seen = spec_snapshot(**{"stream_format:text": 3, "stream_format:ai-sdk": 9})
    text = render_summary(seen, verdict(), color=False)
    assert "chat_stream_formats.......: ai-sdk=9, text=3" in text
    assert "chat_stream_formats" not in render_summary(spec_snapshot(), verdict(), color=False)


def test_server_timing_parts_share_one_line_per_endpoint() -> None:
    """A request's Server-Timing parts print as one `<metric> parts` line of averages, not a line each."""
    from agentload.recording.recorder import Aggregate, Recorder
    from agentload.recording.samples import Sample, record_sample

    recorder = Recorder()
    for latency in (100.0, 120.0):
        timing = {"llm": 60.0, "db": 10.0, "app": 80.0}
        record_sample(recorder, Sample("intent_inference_latency", latency, "ok", server_timing=timing))
    aggregate = Aggregate()
    aggregate.merge_wire(recorder.drain())
    lines = render_summary(aggregate.snapshot(), verdict(), color=False).splitlines()
    assert [line for line in lines if line.startswith("intent_inference_latency")] == [
        "intent_inference_latency........: " + trend_line(
            "intent_inference_latency", metric_summary(hist(100.0, 120.0))
        ),
        "intent_inference_latency parts..: avg llm=60ms db=10ms other=10ms client=30ms app=80ms",
    ]


def test_labeled_series_are_folded_to_those_a_budget_names() -> None:
    """Whole metrics always print; of the labeled series only turns 5-6 (named by a budget) do, the rest
    are counted in one pointer line."""
    ttft = {f"chat_time_to_first_token{{turn:{turn}}}": hist(100.0 * turn) for turn in range(1, 7)}
    snapshot = Snapshot(
        histograms={"chat_time_to_first_token": hist(100.0), **ttft, "generator_cpu{source:local}": hist(2)},
        counters={"requests": 6},
        errors={},
    )
    turns = result(PASS, metric="chat_time_to_first_token", labels=(("turn", ">=5"),))
    text = render_summary(snapshot, verdict(turns), color=False)
    shown = {line.split(".")[0] for line in text.splitlines() if re.match(r"^\S+\.{2,}: ", line)}
    assert shown == {
        "chat_time_to_first_token",
        "chat_time_to_first_token{turn:5}",
        "chat_time_to_first_token{turn:6}",
        "error_rate",
    }
    assert "5 labeled series not named by a budget: in the JSON report" in text
