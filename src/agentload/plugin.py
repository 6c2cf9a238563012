"""The one module that wires Locust's events to agentload's parts; importing it registers them.

Locustfiles import it right after `locust`. Everything it registers is a thin adapter: options go
to `settings`, request events become samples in the process's `Recorder`, worker reports carry
deltas to the master's `Aggregate`, and at quit the gate turns the snapshot into the verdict and
the exit code (which wins over Locust's own "any failure means exit 1").
"""

from __future__ import annotations

import sys
import time
from typing import Any

from locust import events
from locust.runners import MasterRunner, WorkerRunner

from agentload import gate
from agentload.budgets import BudgetError, load_budgets
from agentload.integrations import distributed
from agentload.metrics import record_sample
from agentload.settings import SettingsError, load
from agentload.suite import Suite


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument("--budgets", default="budgets.yaml", help="budgets file (default: budgets.yaml)")
    parser.add_argument(
        "--time-scale", default=None, help="divide every profile duration by F (env AGENTLOAD_TIME_SCALE)"
    )
    parser.add_argument(
        "--report-only", action="store_true", default=False, help="print the verdict but exit 0 (baselining)"
    )
    parser.add_argument(
        "--report-json", default=None, include_in_web_ui=False, help="write the JSON report here"
    )
    parser.add_argument(
        "--report-junit", default=None, include_in_web_ui=False, help="write a JUnit XML file here"
    )
    parser.add_argument(
        "--baseline", default=None, include_in_web_ui=False, help="earlier JSON report to compare against"
    )
    parser.add_argument(
        "--request-timeout",
        default=None,
        include_in_web_ui=False,
        help="per-request deadline: 10s, or per endpoint chat=30s,intent=5s (env AGENTLOAD_TIMEOUT)",
    )
    parser.add_argument(
        "--skip-health-check",
        action="store_true",
        default=False,
        include_in_web_ui=False,
        help="do not check GET /api/health before load starts",
    )


def config_error(message: str) -> None:
    """A user mistake: one line, no traceback, exit code 2."""
    sys.stderr.write(f"agentload: {message}\n")
    sys.exit(2)


@events.init.add_listener
def on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    try:
        settings = load(environment.parsed_options, environment.host)
    except SettingsError as exc:
        config_error(str(exc))
    suite = Suite(settings=settings)
    if not isinstance(runner, WorkerRunner):
        try:
            suite.budget_file = load_budgets(settings.budgets_path)
            suite.baseline = gate.read_baseline(settings.baseline)
        except (BudgetError, SettingsError) as exc:
            config_error(str(exc))
    environment.agentload = suite
    environment.events.request.add_listener(_recorder_listener(suite))
    environment.events.test_start.add_listener(_on_test_start)
    if isinstance(runner, WorkerRunner):
        distributed.install_worker(environment)
    elif isinstance(runner, MasterRunner):
        distributed.install_master(environment)


def _recorder_listener(suite: Suite) -> Any:
    recorder = suite.recorder

    def on_request(context: dict[str, Any] | None = None, **_: Any) -> None:
        sample = context.get("agentload") if context else None
        if sample is not None:
            record_sample(recorder, sample)

    return on_request


def _on_test_start(environment: Any, **_: Any) -> None:
    suite: Suite = environment.agentload
    suite.recorder.drain()
    suite.aggregate = type(suite.aggregate)()
    suite.started_at, suite.ended_at = time.time(), None


@events.quitting.add_listener
def on_quitting(environment: Any, **_: Any) -> None:
    suite: Suite | None = getattr(environment, "agentload", None)
    if suite is None or isinstance(environment.runner, WorkerRunner) or suite.budget_file is None:
        return
    environment.process_exit_code = gate.conclude(suite, environment)
