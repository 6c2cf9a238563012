"""The capacity sweep as text, JSON and Markdown: the capacity, where it broke, and every step.

The search and its verdict are `agentload.profiles.capacity`; this module only renders them.
"""

from __future__ import annotations

from typing import Any

from agentload.formatting import format_duration, format_number
from agentload.profiles.capacity import CapacityResult, StepResult, step_order
from agentload.reporting.json_report import sanitize


def _rate(value: float | None) -> str:
    return f"{format_number(value)}/s" if value is not None else "none"


def headline(result: CapacityResult) -> str:
    """`capacity 82.5/s (load_mix); broke at 85/s: intent_inference_latency p95 = 341ms; goodput 80.1/s`."""
    if result.max_rate_per_s is None:
        first = result.steps[0] if result.steps else None
        why = f": {', '.join(first.broken)}" if first else ""
        rate = _rate(first.rate_per_s if first else None)
        return f"no capacity ({result.scenario}): even the first step ({rate}) broke{why}"
    text = f"capacity {_rate(result.max_rate_per_s)} ({result.scenario})"
    if result.broke_at_per_s is not None:
        observed = _observed(result.broken_budget, result.broken_observed)
        text += f"; broke at {_rate(result.broke_at_per_s)}: {result.broken_budget}{observed}"
    else:
        text += "; no step broke"
    return text + f"; goodput {_rate(result.goodput_per_s)}"


def _observed(label: str | None, value: float | None) -> str:
    if value is None or label is None:
        return ""
    if label == "dropped_iterations":
        return f" = {value:g}"
    return f" = {format_duration(value)}" if "latency" in label or "time_to" in label else f" = {value:.4g}"


def _step_cells(step: StepResult) -> list[str]:
    return [
        _rate(step.rate_per_s),
        format_number(step.seconds),
        _rate(step.achieved_per_s),
        _rate(step.goodput_per_s),
        str(step.dropped),
        "held" if step.held else "BROKE " + ", ".join(step.broken),
    ]


HEADER = ["RATE", "SECONDS", "ACHIEVED", "GOODPUT", "DROPPED", "BUDGETS"]


def render_capacity(result: CapacityResult) -> str:
    """The step table (by rate) and the headline, for the console."""
    rows = [HEADER, *[_step_cells(s) for s in step_order(result.steps)]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    table = ["  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows]
    return "\n".join(["capacity sweep:", *table, headline(result)])


def capacity_line(result: CapacityResult, exit_code: int) -> str:
    """The last line of a sweep: the capacity against its target, and the exit code."""
    target = f" (target {_rate(result.target_per_s)})" if result.target_per_s is not None else ""
    return f"capacity: {_rate(result.max_rate_per_s)}{target} (exit {exit_code})"


def capacity_to_dict(result: CapacityResult) -> dict[str, Any]:
    """The `capacity` object of report.schema.json."""
    return sanitize(
        {
            "scenario": result.scenario,
            "max_rate_per_s": result.max_rate_per_s,
            "broke_at_per_s": result.broke_at_per_s,
            "broken_budget": result.broken_budget,
            "broken_observed": result.broken_observed,
            "goodput_per_s": result.goodput_per_s,
            "target_per_s": result.target_per_s,
            "exit_code": result.exit_code,
            "summary": headline(result),
            "steps": [
                {
                    "rate_per_s": s.rate_per_s,
                    "seconds": s.seconds,
                    "requests": s.requests,
                    "achieved_per_s": s.achieved_per_s,
                    "goodput_per_s": s.goodput_per_s,
                    "dropped": s.dropped,
                    "held": s.held,
                    "broken": list(s.broken),
                    "p95": dict(s.p95),
                }
                for s in result.steps
            ],
        }
    )


def capacity_markdown(result: CapacityResult) -> str:
    """A Markdown section: the headline and the step table."""
    lines = [
        "### Capacity",
        "",
        f"**{headline(result)}**",
        "",
        "| " + " | ".join(h.lower() for h in HEADER) + " |",
    ]
    lines.append("|---:|---:|---:|---:|---:|---|")
    lines += ["| " + " | ".join(_step_cells(s)) + " |" for s in step_order(result.steps)]
    return "\n".join(lines) + "\n"
