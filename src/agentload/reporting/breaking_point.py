"""The stress analysis as text and JSON: the stage table, the breaking point, graceful or not.

The analysis itself (which stage broke which budget, and whether degradation was graceful) is
`agentload.budgets.breaking_point`; this module only renders it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from agentload.budgets.breaking_point import BreakingPointReport, ComponentGrowth, StageResult
from agentload.formatting import format_duration, format_number, format_percent
from agentload.recording.metrics import ordered_metric_names


def _rps(stage: StageResult | None) -> str:
    return f"{format_number(stage.rps)} req/s" if stage and stage.rps is not None else "unknown req/s"


def headline(report: BreakingPointReport) -> str:
    """`stage ramp 300 (287.5 req/s)`, or `none found`."""
    if not report.found:
        return "none found"
    return f"stage {report.breaking_stage} ({_rps(report.stage(report.breaking_stage))})"


def _p95_columns(report: BreakingPointReport) -> list[str]:
    names = {m for s in report.stages for m, v in s.p95.items() if v is not None}
    return [m for m in ordered_metric_names(names) if not m.endswith("_scheduled")]


def _stage_row(stage: StageResult, columns: Sequence[str]) -> list[str]:
    held = {True: "held", False: "BROKE " + ", ".join(stage.broken), None: "no data"}[stage.held]
    return [
        stage.name,
        format_number(stage.seconds),
        format_number(stage.rps),
        format_percent(stage.error_rate),
        format_percent(stage.shed_rate),
        *[format_duration(stage.p95.get(m)) for m in columns],
        held,
    ]


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows]


def render_breaking_point(report: BreakingPointReport) -> str:
    """A text table of the stages and the breaking-point conclusion, for the console."""
    columns = _p95_columns(report)
    header = ["STAGE", "SECONDS", "REQ/S", "HARD ERR", "SHED", *[f"{m} p95" for m in columns], "BUDGETS"]
    lines = ["stress analysis:"]
    if report.stages:
        lines += _table([header, *[_stage_row(s, columns) for s in report.stages]])
    lines.append(f"breaking point: {headline(report)}")
    if report.last_healthy_stage is not None:
        lines.append(
            f"last healthy stage: {report.last_healthy_stage} "
            f"({_rps(report.stage(report.last_healthy_stage))})"
        )
    if report.graceful is not None:
        lines.append("degradation: graceful" if report.graceful else "degradation: NOT graceful")
        lines += [f"  - {reason}" for reason in report.reasons]
    if report.growth is not None:
        lines.append(f"component: {report.growth.text}")
    return "\n".join(lines) + "\n"


def stage_to_dict(stage: StageResult) -> dict[str, Any]:
    return {
        "name": stage.name,
        "seconds": stage.seconds,
        "requests": stage.requests,
        "errors": stage.errors,
        "rps": stage.rps,
        "p95": dict(stage.p95),
        "error_rate": stage.error_rate,
        "shed_rate": stage.shed_rate,
        "hard_errors": dict(stage.hard_errors),
        "held": stage.held,
        "broken": list(stage.broken),
    }


def to_dict(report: BreakingPointReport) -> dict[str, Any]:
    """The report as JSON-ready data (the `breaking_point` object of report.schema.json)."""
    breaking, healthy = report.stage(report.breaking_stage), report.stage(report.last_healthy_stage)
    return {
        "found": report.found,
        "summary": headline(report),
        "breaking_stage": report.breaking_stage,
        "breaking_rps": breaking.rps if breaking else None,
        "last_healthy_stage": report.last_healthy_stage,
        "last_healthy_rps": healthy.rps if healthy else None,
        "graceful": report.graceful,
        "reasons": list(report.reasons),
        "rule": report.rule,
        "stages": [stage_to_dict(s) for s in report.stages],
        "component_growth": growth_to_dict(report.growth) if report.growth else None,
    }


def growth_to_dict(growth: ComponentGrowth) -> dict[str, Any]:
    return {**asdict(growth), "text": growth.text}
