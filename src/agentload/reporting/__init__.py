"""Reporting: pure functions that turn a Snapshot and a Verdict into what people and CI read.

Console text (k6 layout), a JSON report with its JSON Schema, JUnit XML, a Markdown job summary
and the stress breaking-point analysis. Nothing here measures or decides: the numbers come from
`agentload.metrics`, the verdict from `agentload.budgets`, and every function only formats them.
"""

from agentload.reporting.breaking_point import (
    BreakingPointReport,
    StageResult,
    analyse_stages,
    render_breaking_point,
    to_dict,
)
from agentload.reporting.console import render_summary
from agentload.reporting.format import format_duration, format_percent, format_value
from agentload.reporting.json_report import build_report, load_schema, validate_report, write_json
from agentload.reporting.junit import build_junit, write_junit
from agentload.reporting.markdown import append_step_summary, build_markdown
from agentload.reporting.summary import metric_summary, summarize

__all__ = [
    "BreakingPointReport",
    "StageResult",
    "analyse_stages",
    "append_step_summary",
    "build_junit",
    "build_markdown",
    "build_report",
    "format_duration",
    "format_percent",
    "format_value",
    "load_schema",
    "metric_summary",
    "render_breaking_point",
    "render_summary",
    "summarize",
    "to_dict",
    "validate_report",
    "write_json",
    "write_junit",
]
