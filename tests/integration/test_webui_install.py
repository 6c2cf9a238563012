"""`install` on a real Locust web UI, through Flask's test client: fast checks of the wiring itself.

The browser test shows the tab end to end; these show, in milliseconds, the contract with Locust's
UI that it relies on (template arguments, `extended_stats` in /stats/requests, the script tag on
the index page) and the edge cases a browser run would not reach (no web UI, a second install).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from locust.env import Environment

from agentload.budgets import parse_budgets
from agentload.integrations.webui import ROWS_PATH, SCRIPT_PATH, TAB_KEY, install
from agentload.run_context import RunContext
from agentload.settings import Settings

BUDGETS = "budgets:\n  - {metric: intent_inference_latency, stat: p95, threshold: 800ms, min_samples: 1}\n"


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Environment]:
    """A local runner with an (unstarted) web UI and agentload's per-process state, as the plugin sets it."""
    monkeypatch.setattr(sys, "argv", ["locust"])  # the index page re-parses the command line
    env = Environment(user_classes=[])
    env.create_local_runner()
    env.create_web_ui("127.0.0.1", 0, delayed_start=True)
    env.agentload = RunContext(settings=Settings(), budget_file=parse_budgets(BUDGETS))
    yield env
    env.runner.quit()


def get(environment: Environment, path: str) -> Any:
    response = environment.web_ui.app.test_client().get(path)
    assert response.status_code == 200, path
    return response


def test_without_a_web_ui_install_does_nothing() -> None:
    """Workers and headless runs have no web UI: install returns False and touches nothing."""
    assert install(Environment(user_classes=[])) is False


def test_tab_and_columns_are_template_arguments_and_install_is_idempotent(environment: Environment) -> None:
    """The tab and its table are added once, even when install runs twice (locustfile and plugin)."""
    assert install(environment) and install(environment)
    args = environment.web_ui.template_args
    assert args["extended_tabs"] == [{"title": "Budgets", "key": TAB_KEY}]
    assert [table["key"] for table in args["extended_tables"]] == [TAB_KEY]
    assert get(environment, "/").get_data(as_text=True).count(f'src=".{SCRIPT_PATH}"') == 1


def test_stats_requests_carries_rows_drained_from_the_local_recorder(environment: Environment) -> None:
    """Each /stats/requests poll drains the recorder, so samples show up without waiting for a flush."""
    install(environment)
    environment.agentload.recorder.observe("intent_inference_latency", 20.0)
    extended = get(environment, "/stats/requests").json["extended_stats"]
    [entry] = [e for e in extended if e["key"] == TAB_KEY]
    assert (entry["data"][0]["status"], entry["data"][0]["samples"]) == ("PASS", 1)
    rows = get(environment, ROWS_PATH).json["rows"]
    assert (rows[0]["cumulative"], rows[0]["window"]) == ("20ms", "20ms")


def test_script_is_served_as_javascript(environment: Environment) -> None:
    """The colouring script is served with a JavaScript type and knows every status."""
    install(environment)
    response = get(environment, SCRIPT_PATH)
    assert response.mimetype == "application/javascript"
    script = response.get_data(as_text=True)
    assert all(status in script for status in ("PASS", "WARN", "FAIL", "INCONCLUSIVE"))
