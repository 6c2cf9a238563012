"""The capacity sweep as text, JSON and Markdown: the capacity, where it broke, and every step.

The result types are `agentload.budgets.capacity`; this module only renders them.
"""

from __future__ import annotations

from typing import Any

from agentload.budgets.capacity import CapacityResult, StepResult, step_order
from agentload.budgets.model import Verdict
from agentload.formatting import format_duration, format_number
from agentload.reporting.json_report import sanitize


def _rate(value: float | None) -> str:
    return f"{format_number(value)}/s" if value is not None else "none"


GENERATOR_ADVICE = "run more generator processes (--processes N) or workers"


def headline(result: CapacityResult) -> str:
    """`capacity 82.5/s (load_mix); broke at 85/s: intent_inference_latency p95 = 341ms; goodput 80.1/s`."""
    if result.generator_limit_per_s is not None:
        return _generator_headline(result)
    if result.max_rate_per_s is None:
        first = result.steps[0] if result.steps else None
        why = f": {_broken_text(first)}" if first else ""
        rate = _rate(first.rate_per_s if first else None)
        return f"no capacity ({result.scenario}): even the first step ({rate}) broke{why}"
    text = f"capacity {_rate(result.max_rate_per_s)} ({result.scenario})"
    if result.broke_at_per_s is not None:
        observed = _observed(result.broken_budget, result.broken_observed)
        reason = f": {result.broken_why}" if result.broken_why else observed and f" {observed}"
        text += f"; broke at {_rate(result.broke_at_per_s)}: {result.broken_budget}{reason}"
    else:
        text += "; no step broke"
    return text + f"; goodput {_rate(result.goodput_per_s)}"


def _generator_headline(result: CapacityResult) -> str:
    """The sweep ended where the generator could not drive the step: a floor, not the capacity."""
    limit = _rate(result.generator_limit_per_s)
    why = f"at {limit} {result.generator_why}; {GENERATOR_ADVICE}"
    if result.max_rate_per_s is None:
        return f"capacity unknown ({result.scenario}): the first step was the generator's limit: {why}"
    floor = _rate(result.max_rate_per_s)
    return f"capacity >= {floor}: the generator's limit, not the platform's ({result.scenario}): {why}"


def _broken_text(step: StepResult) -> str:
    """`intent_inference_latency p95, error_rate rate (only 120 samples, 300 needed in 60 s)`."""
    return ", ".join(f"{label} ({step.why[label]})" if label in step.why else label for label in step.broken)


def _observed(label: str | None, value: float | None) -> str:
    if value is None or label is None:
        return ""
    if label == "dropped_iterations":
        return f"= {value:g}"
    return f"= {format_duration(value)}" if "latency" in label or "time_to" in label else f"= {value:.4g}"


def _verdict_cell(step: StepResult) -> str:
    if step.generator_limit:
        return "GENERATOR'S LIMIT " + step.generator_limit
    return "held" if step.held else "BROKE " + _broken_text(step)


def _step_cells(step: StepResult) -> list[str]:
    return [
        _rate(step.rate_per_s),
        format_number(step.seconds),
        format_number(step.needed_s),
        _rate(step.achieved_per_s),
        _rate(step.goodput_per_s),
        str(step.dropped),
        _verdict_cell(step),
    ]


HEADER = ["RATE", "SECONDS", "NEEDED", "ACHIEVED", "GOODPUT", "DROPPED", "BUDGETS"]


def render_capacity(result: CapacityResult) -> str:
    """The step table (by rate) and the headline, for the console."""
    rows = [HEADER, *[_step_cells(s) for s in step_order(result.steps)]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    table = ["  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in rows]
    return "\n".join(["capacity sweep:", *table, headline(result)])


def sweep_line(verdict: Verdict) -> str:
    """Under a sweep's budget table: what it covers, said so it is not read as the run's verdict."""
    return (
        f"budgets over the whole sweep, broken steps included: {verdict.status} "
        "(the capacity below decides the exit code)"
    )


def capacity_line(result: CapacityResult, exit_code: int) -> str:
    """The last line of a sweep: the capacity against its target, and the exit code."""
    if result.generator_limit_per_s is not None:
        floor = f">= {_rate(result.max_rate_per_s)}" if result.max_rate_per_s is not None else "unknown"
        return f"capacity {floor}: the generator's limit, not the platform's (exit {exit_code})"
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
            "broken_why": result.broken_why or None,
            "generator_limit_per_s": result.generator_limit_per_s,
            "generator_why": result.generator_why or None,
            "goodput_per_s": result.goodput_per_s,
            "target_per_s": result.target_per_s,
            "exit_code": result.exit_code,
            "summary": headline(result),
            "steps": [
                {
                    "rate_per_s": s.rate_per_s,
                    "seconds": s.seconds,
                    "requests": s.requests,
                    "needed_s": s.needed_s,
                    "started": s.started,
                    "achieved_per_s": s.achieved_per_s,
                    "goodput_per_s": s.goodput_per_s,
                    "dropped": s.dropped,
                    "held": s.held,
                    "broken": list(s.broken),
                    "why": dict(s.why),
                    "generator_limit": s.generator_limit or None,
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
    lines.append("|---:|---:|---:|---:|---:|---:|---|")
    lines += ["| " + " | ".join(_step_cells(s)) + " |" for s in step_order(result.steps)]
    return "\n".join(lines) + "\n"
