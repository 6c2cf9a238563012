"""The machine-readable report: one JSON document per run, described by `report.schema.json`.

CI jobs, dashboards and the baseline comparator read this file instead of scraping the console,
so its shape is a contract: it is checked against the shipped JSON Schema (draft 2020-12) in the
tests, every number is finite (NaN and infinities become null, and serialisation refuses them),
durations are milliseconds, rates are fractions, and the file is written atomically so a reader
never sees half a report.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from agentload.budgets.explain import Explanation, explain
from agentload.budgets.model import BudgetResult, Regression, Verdict
from agentload.recording.counts import error_rate, hard_error_count, ratio, shed_count, stream_formats
from agentload.recording.generator import health_dict, health_line
from agentload.recording.metrics import kind_of, ordered_metric_names, rate_counters
from agentload.recording.recorder import Snapshot
from agentload.reporting._atomic import write_text_atomic
from agentload.reporting.summary import incomplete_reasons, summarize

if TYPE_CHECKING:
    from agentload.reporting.breaking_point import BreakingPointReport

SCHEMA_VERSION = 1
SCHEMA_RESOURCE = "report.schema.json"


def sanitize(value: Any) -> Any:
    """`value` as plain JSON data: non-finite floats become None, tuples lists, keys strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): sanitize(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [sanitize(item) for item in value]
    return str(value)


def strip_credentials(url: str) -> str:
    """`url` without a `user:password@` part (the caller strips it too; reports must never leak it)."""
    parts = urlsplit(url)
    if not parts.hostname or "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=netloc))


def budget_entry(result: BudgetResult) -> dict[str, Any]:
    """One element of `budgets`: the budget, what was observed, and its status."""
    budget = result.budget
    return {
        "label": budget.label,
        "metric": budget.metric,
        "stat": budget.stat,
        "comparison": budget.comparison,
        "threshold": budget.threshold,
        "unit": unit_of(budget.metric),
        "criticality": budget.criticality,
        "status": result.status,
        "observed": result.observed,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "samples": result.samples,
        "marginal": result.marginal,
        "message": result.text,
        "reason": result.reason or None,
        "generator_bound": result.generator_bound,
        **({"explanation": explanation_entry(result.explanation)} if result.explanation else {}),
        **({"window": {"after_s": budget.after, "before_s": budget.before}} if budget.windowed else {}),
    }


def explanation_entry(explanation: Explanation) -> dict[str, Any]:
    """A slow tail's parts, largest share first, with the one-line text the console prints."""
    return {**asdict(explanation), "parts": [asdict(p) for p in explanation.parts], "text": explanation.text}


def breakdown_entries(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Every metric with Server-Timing data: where its requests at or above its P95 spent their time."""
    entries = {}
    for metric in ordered_metric_names(snapshot.breakdowns):
        explanation = explain(metric, snapshot.histograms.get(metric), snapshot.breakdowns[metric])
        if explanation is not None:
            entries[metric] = explanation_entry(explanation)
    return entries


def slowest_entries(snapshot: Snapshot) -> dict[str, list[dict[str, Any]]]:
    """Per metric, its slowest requests, slowest first."""
    return {
        metric: [
            {
                "latency_ms": e.latency_ms,
                "trace_id": e.trace_id,
                "started_at": iso_utc(e.started_at),
                "status": e.status,
                "worker": e.worker,
                "server_timing": dict(e.server_timing),
            }
            for e in snapshot.slowest[metric].ranked()
        ]
        for metric in ordered_metric_names(snapshot.slowest)
    }


def unit_of(metric: str) -> str:
    """`ms` for durations, `fraction` for rates, `count` for counters, `number` otherwise."""
    return {"duration": "ms", "rate": "fraction", "count": "count"}.get(kind_of(metric), "number")


def regression_entry(regression: Regression) -> dict[str, Any]:
    return {
        "metric": regression.metric,
        "baseline_p95": regression.baseline_p95,
        "current_p95": regression.current_p95,
        "change": regression.change,
        "significant": regression.significant,
    }


def run_metadata(snapshot: Snapshot, meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """Whatever the caller knows about the run (profile, host, times, version, commit), JSON-safe.

    Unix start and end times become ISO 8601 UTC strings, the numbers being kept as `*_unix`.
    """
    run = {**snapshot.meta, **(meta or {})}
    run.pop("stage_windows", None)  # reported, with the numbers, under `stages`
    formats = stream_formats(snapshot)
    if formats:
        run["stream_formats"] = formats
    if isinstance(run.get("host"), str):
        run["host"] = strip_credentials(run["host"])
    for key in ("started_at", "ended_at"):
        value = run.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            run[key], run[f"{key}_unix"] = iso_utc(value), value
    return sanitize(run)


def iso_utc(epoch_seconds: float) -> str:
    """`2024-05-01T10:00:00.123Z` for a Unix time (the suite records `time.time()`)."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stage_entries(snapshot: Snapshot) -> list[dict[str, Any]]:
    """Per-stage counters, errors and metric summaries, in schedule order when it is known."""
    seconds = {w["name"]: w.get("seconds") for w in snapshot.meta.get("stage_windows", ())}
    names = [name for name in seconds if name in snapshot.stages]
    names += [name for name in snapshot.stages if name not in seconds]
    return [
        {
            "name": name,
            "seconds": seconds.get(name),
            "counters": dict(snapshot.stages[name].counters),
            "errors": dict(snapshot.stages[name].errors),
            "metrics": summarize(snapshot.stages[name].histograms),
        }
        for name in names
    ]


def _rates(snapshot: Snapshot) -> dict[str, float | None]:
    """The run's error rates, then every declared `Rate` (journey error rates too) seen in the run."""
    requests = snapshot.counter("requests")
    rates = {
        "error_rate": error_rate(snapshot),
        "hard_error_rate": ratio(hard_error_count(snapshot), requests),
        "shed_rate": ratio(shed_count(snapshot), requests),
    }
    for name in ordered_metric_names(declared_rates(snapshot.counters)):
        hits, total = rate_counters(name)
        rates[name] = ratio(snapshot.counter(hits), snapshot.counter(total))
    return rates


def declared_rates(counters: Mapping[str, int]) -> list[str]:
    """The rates (`Rate`s, journey error rates) whose two counters are among `counters`.

    Found by their counters, not their declaration: a journey opened only inside a task is
    declared in the workers that ran it, never on the master that writes the report.
    """
    names = (name.removesuffix(":total") for name in counters if name.endswith(":total"))
    return [name for name in names if "{" not in name and rate_counters(name)[0] in counters]


def build_report(
    snapshot: Snapshot,
    verdict: Verdict,
    meta: Mapping[str, Any] | None = None,
    *,
    breaking_point: BreakingPointReport | None = None,
) -> dict[str, Any]:
    """The whole report as JSON-ready data (see `report.schema.json`)."""
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "verdict": verdict.status,
        "exit_code": verdict.exit_code,
        "run": run_metadata(snapshot, meta),
        "metrics": summarize(snapshot),
        "budgets": [budget_entry(result) for result in verdict.results],
        "counters": {name: int(n) for name, n in sorted(snapshot.counters.items())},
        "rates": _rates(snapshot),
        "errors": dict(sorted(snapshot.errors.items(), key=lambda pair: (-pair[1], pair[0]))),
        "incomplete": incomplete_reasons(snapshot, verdict),
        "regressions": [regression_entry(r) for r in verdict.regressions],
        "notes": list(verdict.notes),
        "generator": {
            "line": health_line(snapshot.histograms),
            "bound": any(result.generator_bound for result in verdict.results),
            "processes": health_dict(snapshot.histograms),
        },
    }
    if snapshot.stages:
        report["stages"] = stage_entries(snapshot)
    if snapshot.breakdowns:
        report["breakdown"] = breakdown_entries(snapshot)
    if snapshot.slowest:
        report["slowest"] = slowest_entries(snapshot)
    if breaking_point is not None:
        from agentload.reporting.breaking_point import to_dict

        report["breaking_point"] = to_dict(breaking_point)
    return sanitize(report)


def dumps(report: Mapping[str, Any]) -> str:
    """The report as indented JSON text; raises ValueError rather than write NaN or Infinity."""
    return json.dumps(sanitize(report), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(path: str | os.PathLike[str], report: Mapping[str, Any]) -> Path:
    """Write the report atomically to `path` (parent directories are created)."""
    return write_text_atomic(path, dumps(report))


def load_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the report."""
    text = resources.files("agentload.reporting").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def validate_report(report: Mapping[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` when `report` does not match the shipped schema."""
    import jsonschema  # a test/CI dependency: only needed by whoever validates

    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(report))
    if error is not None:
        raise error
