"""Reporting: pure functions that turn a Snapshot and a Verdict into what people and CI read.

Console text (k6 layout), a JSON report with its JSON Schema, JUnit XML, a Markdown job summary
and the stress breaking-point table. Nothing here measures or decides: the numbers come from
`agentload.recording`, the verdict and the stress analysis from `agentload.budgets`, and every
function only formats them.
"""

from agentload.reporting.breaking_point import render_breaking_point
from agentload.reporting.console import render_summary
from agentload.reporting.json_report import build_report, load_schema, validate_report, write_json
from agentload.reporting.junit import build_junit, write_junit
from agentload.reporting.markdown import append_step_summary, build_markdown

__all__ = [
    "append_step_summary",
    "build_junit",
    "build_markdown",
    "build_report",
    "load_schema",
    "render_breaking_point",
    "render_summary",
    "validate_report",
    "write_json",
    "write_junit",
]
