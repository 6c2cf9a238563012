"""A GitHub-flavoured Markdown summary of the run, for the job summary page of a CI run.

GitHub Actions renders whatever a step appends to the file named by `GITHUB_STEP_SUMMARY`; a
short table of budgets (observed value, confidence interval, threshold, status), the verdict and
the most frequent failures is what a reviewer needs without opening the logs. Table cells are
escaped so a failure name containing `|` cannot break the table.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from agentload.budgets.model import FAIL, BudgetResult, Verdict
from agentload.formatting import format_ci, format_duration, format_percent, format_threshold, format_value
from agentload.recording.generator import health_line
from agentload.recording.metrics import ordered_metric_names
from agentload.recording.recorder import Snapshot
from agentload.reporting.console import ICONS
from agentload.reporting.summary import incomplete_reasons

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
TOP_ERRORS = 10


def cell(text: object) -> str:
    """`text` made safe for a Markdown table cell (pipes escaped, newlines flattened)."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def _status(status: str) -> str:
    return f"{ICONS.get(status, '')} {status}".strip()


def _budget_row(result: BudgetResult) -> str:
    budget = result.budget
    observed = format_value(budget.metric, result.observed) if result.observed is not None else "no data"
    flags = " (marginal)" if result.marginal else ""
    flags += " (generator-bound)" if result.generator_bound else ""
    return _row(
        [
            budget.title,
            budget.stat,
            observed,
            format_ci(budget.metric, result.ci_low, result.ci_high) or "-",
            format_threshold(budget.metric, budget.comparison, budget.threshold),
            _status(result.status) + flags,
        ]
    )


def _budget_table(verdict: Verdict) -> list[str]:
    if not verdict.results:
        return ["No budgets were evaluated."]
    header = [
        _row(["metric", "stat", "observed", "95% CI", "threshold", "status"]),
        "|---|---|---:|---|---|---|",
    ]
    return header + [_budget_row(result) for result in verdict.results]


def _errors_table(errors: Mapping[str, int], requests: int) -> list[str]:
    failures = sorted(((n, name) for name, n in errors.items() if n), key=lambda p: (-p[0], p[1]))
    if not failures:
        return []
    lines = ["### Errors", "", _row(["failure", "count", "% of requests"]), "|---|---:|---:|"]
    for count, name in failures[:TOP_ERRORS]:
        lines.append(_row([f"`{name}`", str(count), format_percent(count / requests) if requests else "-"]))
    if len(failures) > TOP_ERRORS:
        lines.append(f"\n…and {len(failures) - TOP_ERRORS} more failure kinds.")
    return lines


def _why_list(verdict: Verdict) -> list[str]:
    """Under the table: why each undecided budget is undecided, and where failing tails spent their time."""
    undecided = [f"- `{r.budget.label}`: {r.reason}" for r in verdict.results if r.reason]
    return undecided + [
        f"- where the time went, `{r.budget.label}`: {r.explanation.text}"
        for r in verdict.results
        if r.status == FAIL and r.explanation is not None
    ]


def _slowest_table(snapshot: Snapshot) -> list[str]:
    if not snapshot.slowest:
        return []
    lines = [
        "### Slowest requests",
        "",
        _row(["metric", "latency", "trace id", "started (UTC)", "status", "worker", "Server-Timing"]),
        "|---|---:|---|---|---:|---|---|",
    ]
    for metric in ordered_metric_names(snapshot.slowest):
        for e in snapshot.slowest[metric].ranked():
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.started_at))
            timing = ", ".join(f"{name} {format_duration(ms)}" for name, ms in e.server_timing.items())
            lines.append(
                _row(
                    [
                        f"`{metric}`",
                        format_duration(e.latency_ms),
                        f"`{e.trace_id}`",
                        started,
                        str(e.status),
                        cell(e.worker),
                        timing or "-",
                    ]
                )
            )
    return lines


def build_markdown(snapshot: Snapshot, verdict: Verdict) -> str:
    """The Markdown summary: verdict heading, budget table, generator health, incomplete reasons, errors."""
    profile = snapshot.meta.get("profile")
    title = f"## agentload{f' ({profile})' if profile else ''}: {_status(verdict.status)}"
    sections = [
        [title, "", f"**Verdict: {verdict.status}** (exit {verdict.exit_code})"],
        _budget_table(verdict),
        _why_list(verdict),
        [f"- {health_line(snapshot.histograms)}"],
        [f"- ⚠️ incomplete: {reason}" for reason in incomplete_reasons(snapshot, verdict)],
        [
            f"- regression: `{r.metric}` p95 {format_value(r.metric, r.baseline_p95)} → "
            f"{format_value(r.metric, r.current_p95)}{'' if r.significant else ' (within noise)'}"
            for r in verdict.regressions
        ],
        _errors_table(snapshot.errors, snapshot.counter("requests")),
        _slowest_table(snapshot),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"


def append_step_summary(markdown: str, env: Mapping[str, str] = os.environ) -> Path | None:
    """Append `markdown` to the file named by GITHUB_STEP_SUMMARY; None when it is not set."""
    target = env.get(STEP_SUMMARY_ENV)
    if not target:
        return None
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    separator = "\n" if path.exists() and path.stat().st_size else ""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(separator + (markdown if markdown.endswith("\n") else markdown + "\n"))
    return path
