"""A live "Budgets" tab in Locust's web UI: every budget's status while the test runs, not only at the end.

Locust's React UI (2.22+) draws extra tabs from three plain-data hooks, and this module uses
exactly those, so no part of Locust's frontend is replaced:

* `template_args["extended_tabs"]` adds the tab, `template_args["extended_tables"]` gives its
  columns (the UI renders `window.templateArgs`, set once per page load from `template_args`);
* the rows travel in the `/stats/requests` response under `extended_stats` (the UI polls it every
  2 s while a test is spawning or running, so the tab updates with Locust's own tables).

The numbers come from agentload's exact histograms, never from Locust's rounded stats: the
cumulative column is the same snapshot the gate will judge at the end; the window column covers
what arrived in the last `WINDOW_S` seconds (`Aggregate.window`). A last row shows the load
generator's health (its worst process's loop lag P99, and every process's lag and CPU). On a
local runner each poll first drains this process's recorder into the aggregate; on a master the
aggregate is fed by the workers' reports (every 3 s) and the master's own recorder is empty, so
the same code serves both.

Locust's table cells are plain text, so the status colours come from a small script that the
index page loads (`/agentload/webui.js`): it paints the cells whose text is a status while the
Budgets tab is open. Nothing secret reaches the UI: the rows hold budget names, formatted numbers
and statuses only, and the internal key is never an option (so never a template argument).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from agentload.budgets import evaluate
from agentload.budgets.model import BudgetFile, BudgetResult
from agentload.budgets.scope import run_scope
from agentload.formatting import format_threshold, format_value
from agentload.profiles import stages
from agentload.recording import generator
from agentload.recording.recorder import Snapshot

logger = logging.getLogger(__name__)

TAB_KEY = "budgets"
TAB_TITLE = "Budgets"
WINDOW_S = 30.0
SCRIPT_PATH = "/agentload/webui.js"
ROWS_PATH = "/agentload/budgets"
_INSTALLED = "_agentload_budgets_tab"

STATUS_COLOURS = {"PASS": "#2e7d32", "WARN": "#ed6c02", "FAIL": "#d32f2f", "INCONCLUSIVE": "#757575"}
"""Material colours (green, amber, red, grey) with white text; readable in light and dark mode."""

_SCRIPT = """\
// agentload: colour the status cells of the Budgets tab (Locust's table cells are plain text).
(() => {
  const COLOURS = %(colours)s;
  const onTab = () => new URLSearchParams(window.location.search).get("tab") === %(key)s;
  const paint = () => {
    const active = onTab();
    for (const cell of document.querySelectorAll("td")) {
      const status = active ? cell.textContent.trim() : "";
      const colour = COLOURS[status];
      if (colour && cell.dataset.agentloadStatus !== status) {
        cell.dataset.agentloadStatus = status;
        Object.assign(cell.style, {backgroundColor: colour, color: "#fff", fontWeight: "bold"});
      } else if (!colour && cell.dataset.agentloadStatus) {
        delete cell.dataset.agentloadStatus;
        Object.assign(cell.style, {backgroundColor: "", color: "", fontWeight: ""});
      }
    }
  };
  const observer = new MutationObserver(paint);
  const start = () => {
    observer.observe(document.body, {childList: true, subtree: true, characterData: true});
    paint();
  };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""


def table_structure(window_s: float = WINDOW_S) -> list[dict[str, str]]:
    """The Budgets table's columns, in order: the `structure` of Locust's `extended_tables` entry."""
    window = f"{window_s:g}s"
    return [
        {"key": "budget", "title": "Budget"},
        {"key": "criticality", "title": "Criticality"},
        {"key": "threshold", "title": "Threshold"},
        {"key": "cumulative", "title": "Cumulative"},
        {"key": "status", "title": "Status"},
        {"key": "samples", "title": "Samples"},
        {"key": "window", "title": f"Last {window}"},
        {"key": "window_status", "title": f"Status (last {window})"},
        {"key": "window_samples", "title": f"Samples (last {window})"},
        {"key": "detail", "title": "Detail"},
    ]


def budget_rows(
    budget_file: BudgetFile, cumulative_snapshot: Snapshot, window_snapshot: Snapshot
) -> list[dict[str, Any]]:
    """One row per budget (file order, plus the policy's synthetic http_5xx budget), judged twice.

    `status` and `cumulative` are what the gate would decide if the run ended now; the `window_*`
    columns apply the same rules (min_samples included) to the recent window only.
    """
    whole = evaluate(budget_file, cumulative_snapshot).results
    recent = evaluate(budget_file, window_snapshot).results
    return [_row(now, last, cumulative_snapshot) for now, last in zip(whole, recent, strict=True)]


def _detail(result: BudgetResult, snapshot: Snapshot) -> str:
    """The verdict's message; a failing latency budget adds where the time went and its slowest request."""
    if result.explanation is None:
        return result.text
    detail = f"{result.text}; where the time went: {result.explanation.text}"
    slowest = snapshot.slowest.get(result.explanation.metric)
    ranked = slowest.ranked() if slowest else []
    if ranked:
        latency = format_value(result.explanation.metric, ranked[0].latency_ms)
        detail += f"; slowest: {latency} trace {ranked[0].trace_id}"
    return detail


def _row(result: BudgetResult, window: BudgetResult, snapshot: Snapshot) -> dict[str, Any]:
    budget = result.budget
    return {
        "budget": budget.label,
        "metric": budget.metric,
        "stat": budget.stat,
        "criticality": budget.criticality,
        "threshold": format_threshold(budget.metric, budget.comparison, budget.threshold),
        "cumulative": format_value(budget.metric, result.observed),
        "status": result.status,
        "samples": result.samples,
        "window": format_value(budget.metric, window.observed),
        "window_status": window.status,
        "window_samples": window.samples,
        "detail": _detail(result, snapshot),
    }


def current_rows(environment: Any, window_s: float = WINDOW_S) -> list[dict[str, Any]]:
    """The rows for this process's aggregate now; [] when agentload or its budgets are not loaded."""
    run = getattr(environment, "agentload", None)
    if run is None or run.budget_file is None:
        return []
    aggregate = run.aggregate  # looked up per call: the plugin replaces it at every test start
    aggregate.merge_deltas(run.recorder.drain_deltas())  # local runner; a master's recorder is empty
    stage_names = stages.stage_names(environment)
    budget_file, _ = run_scope(run.budget_file, environment.user_classes, stage_names)
    cumulative, window = aggregate.snapshot(), aggregate.window(window_s)
    return [*budget_rows(budget_file, cumulative, window), generator_row(cumulative, window)]


def generator_row(cumulative: Snapshot, window: Snapshot) -> dict[str, Any]:
    """The last row: the load generator's health, its worst process's loop lag P99 (run and window)."""

    def lag(snapshot: Snapshot) -> str:
        process = generator.worst(snapshot.histograms)
        return format_value(generator.LOOP_LAG, process.lag_p99 if process else None)

    blank = ("criticality", "threshold", "status", "samples", "window_status", "window_samples")
    return {
        **dict.fromkeys(blank, ""),
        "budget": "generator (loop lag p99)",
        "metric": generator.LOOP_LAG,
        "stat": "p99",
        "cumulative": lag(cumulative),
        "window": lag(window),
        "detail": generator.health_line(cumulative.histograms),
    }


def install(environment: Any, window_s: float = WINDOW_S) -> bool:
    """Add the Budgets tab to `environment.web_ui`; False (and nothing done) without a web UI.

    Only master and local runners have a web UI, so workers are left alone. Safe to call twice.
    Must run before the web UI serves its first request (Locust's `init` event is such a place).
    """
    web_ui = getattr(environment, "web_ui", None)
    if web_ui is None or getattr(web_ui, _INSTALLED, False):
        return web_ui is not None
    setattr(web_ui, _INSTALLED, True)
    args = web_ui.template_args
    args["extended_tabs"] = [*args.get("extended_tabs", []), {"title": TAB_TITLE, "key": TAB_KEY}]
    table = {"key": TAB_KEY, "structure": table_structure(window_s)}
    args["extended_tables"] = [*args.get("extended_tables", []), table]
    rows = _guarded(lambda: current_rows(environment, window_s))
    _add_routes(environment, web_ui, rows, window_s)
    web_ui.app.after_request(_after_request(rows))
    return True


def _guarded(compute: Callable[[], list[dict[str, Any]]]) -> Callable[[], list[dict[str, Any]] | None]:
    """`compute`, but None (and a logged traceback) instead of an exception: the UI must keep working."""

    def guarded() -> list[dict[str, Any]] | None:
        try:
            return compute()
        except Exception:
            logger.exception("agentload: could not compute the Budgets tab")
            return None

    return guarded


def _add_routes(environment: Any, web_ui: Any, rows: Callable[[], Any], window_s: float) -> None:
    from flask import Blueprint, Response, jsonify

    options = getattr(environment, "parsed_options", None)
    blueprint = Blueprint("agentload_webui", __name__, url_prefix=getattr(options, "web_base_path", None))
    script = _SCRIPT % {"colours": json.dumps(STATUS_COLOURS), "key": json.dumps(TAB_KEY)}

    @blueprint.route(ROWS_PATH)
    @web_ui.auth_required_if_enabled
    def budgets() -> Response:
        return jsonify({"window_s": window_s, "rows": rows() or []})

    @blueprint.route(SCRIPT_PATH)
    @web_ui.auth_required_if_enabled
    def script_js() -> Response:
        return Response(script, mimetype="application/javascript")

    web_ui.app.register_blueprint(blueprint)


def _after_request(rows: Callable[[], list[dict[str, Any]] | None]) -> Callable[[Any], Any]:
    """Add `extended_stats` to `/stats/requests` and the colouring script to the index page."""
    from flask import request

    def after_request(response: Any) -> Any:
        if response.status_code != 200:
            return response
        if request.endpoint == "locust.request_stats" and response.is_json:
            data = rows()
            if data is not None:
                extended = [e for e in response.json.get("extended_stats", []) if e.get("key") != TAB_KEY]
                extended.append({"key": TAB_KEY, "data": data})
                response.set_data(json.dumps({**response.json, "extended_stats": extended}))
        elif request.endpoint == "locust.index" and response.mimetype == "text/html":
            tag = f'<script src=".{SCRIPT_PATH}"></script>'
            html = response.get_data(as_text=True)
            if tag not in html:
                response.set_data(html.replace("</body>", f"{tag}\n</body>", 1))
        return response

    return after_request
