"""Agent sessions and budgets on part of a run: TTFT per turn under prefill, `turn: ">=5"`, stage budgets.

The platform runs fixed timings, so what each turn and each stage should measure is known; the
tolerances are generous because the machine is shared.
"""

from __future__ import annotations

import itertools

import pytest

from agentload.platform.process import start_platform
from agentload.reporting import validate_report

from locust_run import faults_after, intent_user, run_locust

PREFILL = (
    "--fixed-latency-ms", "intent=5,step=5", "--fixed-ttft-ms", "20", "--fixed-tokens", "10",
    "--prefill-ms-per-1k-tokens", "2000",
)  # fmt: skip
SESSIONS = """
from locust import constant
from agentload import AgentSession, plugin  # noqa: F401

class Sessions(AgentSession):
    wait_time = constant(0)
    think_time_s = (0, 0)
    follow_ups = 5
"""
TURN_BUDGETS = """
budgets:
  - {metric: chat_time_to_first_token, stat: min, threshold: 10s, turn: ">=5"}
  - {metric: session, stat: p50, threshold: 10s, min_samples: 1}
"""


@pytest.mark.slow
def test_ttft_rises_with_the_turn_and_a_turn_budget_judges_only_late_turns(tmp_path) -> None:
    """Prefill at 2 ms per word: every turn waits longer for its first token; `turn >=5` reads turns 5-6."""
    (tmp_path / "s.py").write_text(SESSIONS)
    (tmp_path / "b.yaml").write_text(TURN_BUDGETS)
    with start_platform(*PREFILL) as platform:
        run = run_locust(
            tmp_path / "s.py", "--host", platform.url, "--budgets", str(tmp_path / "b.yaml"),
            "-u", "4", "-r", "4", "-t", "8s", report=tmp_path / "r.json",
        )  # fmt: skip
    assert run.returncode == 0, run.output[-3000:]
    validate_report(run.report)
    metrics = run.report["metrics"]
    medians = [metrics[f"chat_time_to_first_token{{turn:{turn}}}"]["p50"] for turn in range(1, 7)]
    assert all(later > earlier for earlier, later in itertools.pairwise(medians)), medians
    assert medians[5] - medians[0] >= 2 * 5 * 10  # five answers of 10 words more, at 2 ms a word
    late = [metrics[f"chat_time_to_first_token{{turn:{turn}}}"] for turn in (5, 6)]
    (budget,) = [b for b in run.report["budgets"] if b["metric"] == "chat_time_to_first_token"]
    assert budget["samples"] == sum(series["count"] for series in late)
    assert budget["observed"] == min(series["min"] for series in late)
    assert budget["observed"] > metrics["chat_time_to_first_token"]["min"]


STAGED = (
    """
from locust import FastHttpUser, constant, task
from agentload import RampingUsers, ScenarioShape, Stage, plugin  # noqa: F401
"""
    + intent_user("Intents", 0.1)
    + """
class Staged(ScenarioShape):
    schedules = {Intents: RampingUsers((Stage(0.1, 4, "start"), Stage(10, 4, "calm"), Stage(10, 4, "slow")))}
"""
)
STAGE_BUDGETS = """
metrics: {intent: duration}
budgets:
  - {metric: intent, stat: p50, threshold: 300ms, stage: calm}
  - {metric: intent, stat: p50, threshold: 300ms, stage: slow}
"""


@pytest.mark.slow
@pytest.mark.parametrize("processes", [(), ("--processes", "2")], ids=["local", "processes2"])
def test_a_platform_slowed_in_one_stage_fails_that_stage_only(tmp_path, processes) -> None:
    """Intents at 100 ms, 500 ms from the second stage: its budget fails, the first stage's passes."""
    (tmp_path / "s.py").write_text(STAGED)
    (tmp_path / "b.yaml").write_text(STAGE_BUDGETS)
    with start_platform("--fixed-latency-ms", "intent=100") as platform:
        slowing = faults_after(platform, 10.5, latency_scale=5)
        run = run_locust(
            tmp_path / "s.py", "--host", platform.url, "--budgets", str(tmp_path / "b.yaml"), *processes,
            report=tmp_path / "r.json",
        )  # fmt: skip
        slowing.join(timeout=5)
    assert run.returncode == 1, run.output[-3000:]
    calm, slow = run.report["budgets"][:2]
    assert (calm["status"], slow["status"]) == ("PASS", "FAIL"), run.report["budgets"]
    assert calm["observed"] == pytest.approx(100, abs=30) and slow["observed"] >= 400
    assert "intent p50 during slow" in run.stdout
    assert not [name for name in run.report["metrics"] if "user:" in name]  # no budget names `user`


def test_a_session_longer_than_the_turn_label_allows_is_exit_2(tmp_path) -> None:
    """follow_ups past the turn label's 32 values is refused before any load, in one line."""
    (tmp_path / "s.py").write_text(SESSIONS.replace("follow_ups = 5", "follow_ups = 40"))
    (tmp_path / "b.yaml").write_text(TURN_BUDGETS)
    budgets = ("--budgets", str(tmp_path / "b.yaml"))
    run = run_locust(tmp_path / "s.py", *budgets, "--skip-health-check", timeout=60)
    assert run.returncode == 2, run.output[-3000:]
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("agentload:")]
    assert line == "agentload: Sessions.follow_ups must be a whole number from 0 to 31, got 40"
    assert "Traceback" not in run.output
