"""The end of a run: snapshot → verdict → every reporter → exit code.

Runs once, on the master or the local runner, from the `quitting` event (also on SIGTERM, so a CI
job timeout still leaves its reports behind). Reporters are called in order of importance and a
failing one never stops the others, so nothing already measured is lost.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agentload import __version__
from agentload.budgets import evaluate
from agentload.budgets.breaking_point import analyse_stages
from agentload.budgets.model import Policy, Verdict
from agentload.budgets.scope import run_scope
from agentload.profiles import stages
from agentload.recording.recorder import Snapshot
from agentload.reporting import (
    append_step_summary,
    build_junit,
    build_markdown,
    build_report,
    render_summary,
    write_json,
    write_junit,
)
from agentload.reporting.capacity import (
    capacity_line,
    capacity_markdown,
    capacity_to_dict,
    render_capacity,
    sweep_line,
)
from agentload.run_context import RunContext, profile_name
from agentload.settings import SettingsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Conclusion:
    """The exit code and the console summary (printed last, after Locust's own tables)."""

    exit_code: int
    summary: str


def conclude(run: RunContext, environment: Any) -> Conclusion:
    """Evaluate the budgets, write every report, and return the exit code with the summary text."""
    snapshot = run.snapshot(run_metadata(run, environment))
    stage_names = stages.stage_names(environment)
    budget_file, skipped = run_scope(run.budget_file, environment.user_classes, stage_names)
    verdict = evaluate(budget_file, snapshot, run.baseline)
    verdict = replace(verdict, notes=(*verdict.notes, *skipped))
    wants_stages = bool(snapshot.meta.get("stage_windows"))
    breaking_point = analyse_stages(snapshot, run.budget_file) if wants_stages else None
    capacity = run.capacity.result() if run.capacity is not None else None
    exit_code = verdict.exit_code
    if capacity is not None:  # a sweep breaks budgets on purpose: its exit code is the capacity's
        exit_code = 3 if verdict.incomplete else capacity.exit_code
    write_reports(run, snapshot, verdict, breaking_point, capacity, exit_code)
    if capacity is None:
        summary = render(snapshot, verdict, run.budget_file.policy, breaking_point)
    else:
        summary = render(snapshot, verdict, run.budget_file.policy, breaking_point, sweep_line(verdict))
        summary = f"{summary}\n{render_capacity(capacity)}\n\n{capacity_line(capacity, exit_code)}\n"
    if run.settings.report_only:
        note = f"report-only mode: verdict {verdict.status}, exiting 0 instead of {exit_code}"
        return Conclusion(0, f"{summary}\n{note}")
    return Conclusion(exit_code, summary)


def render(
    snapshot: Snapshot, verdict: Verdict, policy: Policy, breaking_point: Any, last_line: str | None = None
) -> str:
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return render_summary(
        snapshot,
        verdict,
        color=color,
        shed_counts_as_error=policy.shed_counts_as_error,
        breaking_point=breaking_point,
        last_line=last_line,
    )


def print_summary(text: str) -> None:
    sys.stdout.write("\n" + text + "\n")
    sys.stdout.flush()


def write_reports(
    run: RunContext,
    snapshot: Snapshot,
    verdict: Verdict,
    breaking_point: Any,
    capacity: Any = None,
    exit_code: int | None = None,
) -> None:
    settings = run.settings
    report = build_report(snapshot, verdict, snapshot.meta, breaking_point=breaking_point)
    if capacity is not None:
        report["capacity"] = capacity_to_dict(capacity)
        report["exit_code"] = exit_code  # the sweep's, as the process exits
    markdown = build_markdown(snapshot, verdict)
    if capacity is not None:
        markdown += "\n" + capacity_markdown(capacity)
    junit = build_junit(verdict, snapshot, inconclusive_fails=run.budget_file.policy.inconclusive_fails)
    writers = [
        (settings.report_json, lambda path: write_json(path, report)),
        (settings.report_junit, lambda path: write_junit(path, junit)),
        (os.environ.get("GITHUB_STEP_SUMMARY"), lambda _: append_step_summary(markdown)),
    ]
    for path, write in writers:
        if not path:
            continue
        try:
            write(path)
        except OSError as exc:
            sys.stderr.write(f"agentload: cannot write report {path}: {exc.strerror or exc}\n")


def run_metadata(run: RunContext, environment: Any) -> dict[str, Any]:
    meta = {
        "profile": profile_name(environment),
        "version": __version__,
        "git_commit": _git_commit(),
        "stage_windows": stages.stage_plan(environment),
    }
    influx = getattr(environment, "agentload_influx", None)
    if influx is not None:
        meta["influx"] = influx.stats()
    return meta


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def read_baseline(path: str | None) -> dict[str, Any] | None:
    """The earlier JSON report given by --baseline; read before any load so a bad path fails early."""
    if not path:
        return None
    try:
        baseline = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SettingsError(f"--baseline {path}: cannot read an earlier JSON report ({exc})") from None
    if not isinstance(baseline, dict) or not isinstance(baseline.get("metrics"), dict):
        raise SettingsError(f"--baseline {path}: not an agentload JSON report (no 'metrics' object)")
    return baseline


def save_locust_html(environment: Any, path: str) -> None:
    """Locust writes its HTML report on a normal end and on Ctrl+C, but not on SIGTERM; we do."""
    from locust.html import get_html_report

    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(get_html_report(environment, show_download_link=False), encoding="utf-8")
    except OSError as exc:
        sys.stderr.write(f"agentload: cannot write HTML report {path}: {exc.strerror or exc}\n")
