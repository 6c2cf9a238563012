"""The end-of-run text summary, in the k6 layout people already read, followed by the budget table.

The first block repeats k6's trend lines (`name....: avg=120ms min=50ms med=100ms ...`) from the
exact histograms rather than Locust's rounded ones, then the rates and counts that matter for a
gate (error rate, shedding, 5xx, dropped iterations), the most frequent failures, one row per
budget with its 95% confidence interval, the generator's health (one line: each load-sending
process's loop lag P99 and CPU max), what made the run incomplete, regressions against the
baseline and the final verdict with its exit code. With `color=False` (NO_COLOR, or not a tty:
the caller decides) the output is plain ASCII words with no emoji and no ANSI escapes, so it
reads the same in a CI log.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from agentload.budgets.model import FAIL, INCONCLUSIVE, PASS, WARN, BudgetResult, Verdict
from agentload.budgets.part import names_series
from agentload.formatting import (
    format_ci,
    format_duration,
    format_number,
    format_percent,
    format_threshold,
    format_value,
)
from agentload.recording.counts import hard_error_count, shed_count, stream_formats
from agentload.recording.exemplars import Exemplar
from agentload.recording.generator import health_line
from agentload.recording.metrics import COMPONENT_SEPARATOR, DURATION, kind_of
from agentload.recording.recorder import Snapshot
from agentload.reporting.summary import incomplete_reasons, summarize

if TYPE_CHECKING:
    from agentload.reporting.breaking_point import BreakingPointReport

ICONS = {PASS: "✅", WARN: "⚠️", FAIL: "❌", INCONCLUSIVE: "❔"}
_ANSI = {PASS: "\033[32m", WARN: "\033[33m", FAIL: "\033[31m", INCONCLUSIVE: "\033[35m"}
_RESET = "\033[0m"
TOP_ERRORS = 10
TOP_SLOWEST = 3
_TREND_STATS = (
    ("avg", "avg"),
    ("min", "min"),
    ("med", "med"),
    ("max", "max"),
    ("p(90)", "p90"),
    ("p(95)", "p95"),
)


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide emoji count 2, variation selectors 0."""
    width = 0
    for index, char in enumerate(text):
        if char == "\ufe0f" or unicodedata.combining(char):
            continue
        wide = unicodedata.east_asian_width(char) in "WF"
        emoji_style = index + 1 < len(text) and text[index + 1] == "\ufe0f"
        width += 2 if wide or emoji_style else 1
    return width


def status_label(status: str, *, color: bool) -> str:
    """`✅ PASS` (with ANSI colour) when colour is on, the plain word otherwise."""
    if not color:
        return status
    return f"{_ANSI.get(status, '')}{ICONS.get(status, '?')} {status}{_RESET}"


def _dotted(name: str, width: int) -> str:
    return name + "." * max(width - len(name), 2) + ":"


def trend_line(name: str, summary: dict[str, float | None]) -> str:
    """The k6 trend values of one metric: `avg=120ms min=50ms med=100ms max=500ms p(90)=... p(95)=...`."""
    fmt = format_duration if kind_of(name) == DURATION else format_number
    return " ".join(f"{label}={fmt(summary.get(key))}" for label, key in _TREND_STATS)


def _split_parts(names: Iterable[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(whole metrics, {metric: its `<metric>.<part>` series}): a request's parts share one line."""
    wholes: list[str] = []
    parts: dict[str, list[str]] = {}
    for name in names:
        metric, separator, _ = name.partition(COMPONENT_SEPARATOR)
        if separator and "{" not in name:
            parts.setdefault(metric, []).append(name)
        else:
            wholes.append(name)
    return wholes, parts


def parts_line(names: Sequence[str], summaries: dict[str, dict]) -> str:
    """`avg llm=80ms db=5ms other=1ms client=2ms app=98ms`: where a request's time went, on average
    (averages of parts add up to the average of the whole, percentiles do not)."""
    parts = {name.partition(COMPONENT_SEPARATOR)[2]: summaries[name]["avg"] for name in names}
    return "avg " + " ".join(f"{part}={format_duration(ms)}" for part, ms in parts.items())


def _rate_text(events: int, requests: int) -> str:
    """`0.00% (0/1000)`, as k6 prints a rate."""
    return f"{format_percent(events / requests if requests else 0.0)} ({events}/{requests})"


def folded(summaries: dict[str, dict], verdict: Verdict) -> tuple[dict[str, dict], int]:
    """The whole metrics and the labeled series a budget names; and how many labeled series are left
    out (every one is in the JSON report): a run with many labels keeps a short console."""
    budgets = [result.budget for result in verdict.results if result.budget.labels]
    shown = {
        name: summary
        for name, summary in summaries.items()
        if "{" not in name or any(names_series(budget, name) for budget in budgets)
    }
    return shown, len(summaries) - len(shown)


def _metric_block(snapshot: Snapshot, summaries: dict[str, dict], *, shed_counts_as_error: bool) -> list[str]:
    requests, shed = snapshot.counter("requests"), shed_count(snapshot)
    failed = snapshot.failed(shed_counts_as_error)
    wholes, parts = _split_parts(summaries)
    rows = [(name, trend_line(name, summaries[name])) for name in wholes]
    rows += [(f"{metric} parts", parts_line(names, summaries)) for metric, names in parts.items()]
    rows.append(("error_rate", _rate_text(failed, requests)))
    if shed:
        rows.append(("shed_rate", _rate_text(shed, requests)))
    for counter in ("http_5xx", "dropped_iterations"):
        if snapshot.counter(counter):
            rows.append((counter, str(snapshot.counter(counter))))
    formats = stream_formats(snapshot)
    if formats:
        rows.append(("chat_stream_formats", ", ".join(f"{name}={n}" for name, n in formats.items())))
    width = max(len(name) for name, _ in rows) + 2
    return [f"{_dotted(name, width)} {text}" for name, text in rows]


def _errors_block(snapshot: Snapshot) -> list[str]:
    failures = sorted(((n, name) for name, n in snapshot.errors.items() if n), key=lambda p: (-p[0], p[1]))
    if not failures:
        return []
    requests = snapshot.counter("requests")
    shown = failures[:TOP_ERRORS]
    title = "errors by name" + (
        f" (top {TOP_ERRORS} of {len(failures)})" if len(failures) > TOP_ERRORS else ""
    )
    width = max(len(name) for _, name in shown) + 2
    lines = [f"{title}:"]
    for count, name in shown:
        share = f" ({format_percent(count / requests)})" if requests else ""
        lines.append(f"  {_dotted(name, width)} {count}{share}")
    lines.append(f"  hard errors: {hard_error_count(snapshot)}, shed: {shed_count(snapshot)}")
    return lines


def budget_row(result: BudgetResult, *, color: bool) -> list[str]:
    """Cells of one budget row: status, metric, stat, observed [CI], threshold, samples, criticality, flag."""
    budget = result.budget
    observed = format_value(budget.metric, result.observed) if result.observed is not None else "no data"
    ci = format_ci(budget.metric, result.ci_low, result.ci_high)
    return [
        status_label(result.status, color=color),
        budget.title,
        budget.stat,
        f"{observed} {ci}".strip(),
        format_threshold(budget.metric, budget.comparison, budget.threshold),
        str(result.samples),
        budget.criticality,
        "marginal" if result.marginal else "",
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    plain = [[_strip_ansi(cell) for cell in row] for row in [header, *rows]]
    widths = [max(display_width(row[i]) for row in plain) for i in range(len(header))]
    lines = []
    for raw, row in zip([header, *rows], plain, strict=True):
        cells = [cell + " " * (widths[i] - display_width(row[i])) for i, cell in enumerate(raw)]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def _strip_ansi(text: str) -> str:
    for code in (*_ANSI.values(), _RESET):
        text = text.replace(code, "")
    return text


def _budget_block(verdict: Verdict, snapshot: Snapshot, *, color: bool) -> list[str]:
    if not verdict.results:
        return ["budgets: none evaluated"]
    header = ["STATUS", "METRIC", "STAT", "OBSERVED [95% CI]", "THRESHOLD", "SAMPLES", "CRITICALITY", ""]
    lines = ["budgets:", *_table(header, [budget_row(r, color=color) for r in verdict.results])]
    for result in verdict.results:
        if result.text and result.status != PASS:
            lines.append(f"  {result.budget.label}: {result.text}")
        if result.status == FAIL:
            lines += why_lines(result, snapshot)
    return lines


def why_lines(result: BudgetResult, snapshot: Snapshot) -> list[str]:
    """Under a failing budget: where its slow tail's time went, and its three slowest requests."""
    lines = []
    if result.explanation is not None:
        lines.append(f"    where the time went: {result.explanation.text}")
    metric = result.explanation.metric if result.explanation else result.budget.metric
    slowest = snapshot.slowest.get(metric)
    for exemplar in slowest.ranked()[:TOP_SLOWEST] if slowest else ():
        lines.append(f"    slow request: {exemplar_text(exemplar)}")
    return lines


def exemplar_text(exemplar: Exemplar) -> str:
    """`1.52s trace 4f2a... at 14:02:11Z, status 200, worker local (llm 1.3s, db 90ms, app 1.5s)`."""
    started = time.strftime("%H:%M:%S", time.gmtime(exemplar.started_at)) + "Z"
    parts = ", ".join(f"{name} {format_duration(ms)}" for name, ms in exemplar.server_timing.items())
    timing = f" ({parts})" if parts else ""
    return (
        f"{format_duration(exemplar.latency_ms)} trace {exemplar.trace_id} at {started}, "
        f"status {exemplar.status}, worker {exemplar.worker}{timing}"
    )


def _incomplete_block(reasons: Iterable[str]) -> list[str]:
    return [f"incomplete: {reason}" for reason in reasons]


def _regression_block(verdict: Verdict) -> list[str]:
    lines = ["regressions against the baseline:"] if verdict.regressions else []
    for reg in verdict.regressions:
        change = reg.current_p95 / reg.baseline_p95 - 1 if reg.baseline_p95 else reg.change
        noise = "significant" if reg.significant else "within noise"
        before, after = format_value(reg.metric, reg.baseline_p95), format_value(reg.metric, reg.current_p95)
        lines.append(f"  {reg.metric} p95 {before} -> {after} ({change * 100:+.1f}%, {noise})")
    return lines


def verdict_line(verdict: Verdict, *, color: bool) -> str:
    """`verdict: FAIL (exit 1)`."""
    return f"verdict: {status_label(verdict.status, color=color)} (exit {verdict.exit_code})"


def render_summary(
    snapshot: Snapshot,
    verdict: Verdict,
    *,
    color: bool,
    shed_counts_as_error: bool = True,
    breaking_point: BreakingPointReport | None = None,
    last_line: str | None = None,
) -> str:
    """The whole end-of-run console text, ending with the verdict line and a newline.

    `shed_counts_as_error` is the policy's: it decides what the error_rate line counts, so that the
    line agrees with an error_rate budget. `last_line` replaces the verdict line when something
    else decides the exit code (the capacity sweep).
    """
    summaries, hidden = folded({name: s for name, s in summarize(snapshot).items() if s["count"]}, verdict)
    pointer = [f"{hidden} labeled series not named by a budget: in the JSON report"] if hidden else []
    sections = [
        [*_metric_block(snapshot, summaries, shed_counts_as_error=shed_counts_as_error), *pointer],
        _errors_block(snapshot),
        _budget_block(verdict, snapshot, color=color),
        [health_line(snapshot.histograms)],
        _incomplete_block(incomplete_reasons(snapshot, verdict)),
        _regression_block(verdict),
        [f"note: {note}" for note in verdict.notes],
    ]
    if breaking_point is not None:
        from agentload.reporting.breaking_point import render_breaking_point

        sections.append(render_breaking_point(breaking_point).rstrip("\n").splitlines())
    body = "\n\n".join("\n".join(section) for section in sections if section)
    return f"{body}\n\n{last_line or verdict_line(verdict, color=color)}\n"
