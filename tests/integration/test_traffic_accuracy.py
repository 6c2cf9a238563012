"""TTFT and inter-token timing measured by the suite against a platform with known, fixed timings."""

from __future__ import annotations

import pytest

from agentload.platform.process import start_platform
from agentload.traffic.streams import FORMATS

from locust_run import CHAT_BUDGETS, CHAT_LOCUSTFILE, run_chat, run_locust


@pytest.mark.parametrize("stream_format", FORMATS)
def test_ttft_and_inter_token_gaps_match_the_platform(tmp_path, stream_format) -> None:
    """Each format found on its own; median TTFT and gap within 5 ms of the fixed 200 ms and 20 ms."""
    timings = ("--fixed-ttft-ms", "200", "--fixed-itl-ms", "20", "--fixed-tokens", "8")
    with start_platform(*timings, "--stream-format", stream_format) as platform:
        run = run_chat(tmp_path, platform.url, "-u", "4", "-r", "4", "-t", "3s")
    assert run.returncode == 0, run.output[-3000:]
    assert run.report["errors"] == {}
    assert run.report["run"]["stream_formats"] == {stream_format: run.report["counters"]["requests"]}
    metrics = run.report["metrics"]
    assert metrics["chat_time_to_first_token"]["med"] == pytest.approx(200, abs=5)
    assert metrics["chat_inter_token_latency"]["med"] == pytest.approx(20, abs=5)
    assert metrics["chat_output_tokens"]["med"] == pytest.approx(8, abs=0.5)


BLOCKED_CHAT = CHAT_LOCUSTFILE + '''
import gevent
from gevent.monkey import get_original
from locust import User, task

blocking_sleep = get_original("time", "sleep")  # Locust patched time.sleep into gevent.sleep

class Blocker(User):
    """Once every stream is connected, blocks the whole process for 0.15 s of every 0.35 s."""
    fixed_count = 1
    wait_time = constant(0.2)

    def on_start(self):
        gevent.sleep(1.0)

    @task
    def block(self):
        blocking_sleep(0.15)
'''


def test_a_blocked_event_loop_does_not_move_the_streams_times(tmp_path) -> None:
    """The loop is blocked 43% of the time, so many tokens are read up to 150 ms late; the kernel's
    arrival stamps keep TTFT and gaps within a few ms of the fixed 300 ms and 400 ms anyway."""
    (tmp_path / "chat.py").write_text(BLOCKED_CHAT)
    (tmp_path / "budgets.yaml").write_text(CHAT_BUDGETS)
    timings = ("--fixed-ttft-ms", "300", "--fixed-itl-ms", "400", "--fixed-tokens", "3")
    with start_platform(*timings) as platform:
        run = run_locust(
            tmp_path / "chat.py",
            *("--host", platform.url, "-u", "6", "-r", "6", "-t", "8s"),
            *("--budgets", str(tmp_path / "budgets.yaml")),
            report=tmp_path / "report.json",
        )
    assert run.report is not None, run.output[-3000:]
    assert run.report["generator"]["processes"][0]["loop_lag_max_ms"] >= 100  # the loop really was late
    metrics = run.report["metrics"]
    assert metrics["chat_time_to_first_token"]["count"] >= 30
    assert metrics["chat_time_to_first_token"]["p95"] == pytest.approx(300, abs=25), metrics
    assert metrics["chat_inter_token_latency"]["p95"] == pytest.approx(400, abs=25), metrics
    assert metrics["chat_response_latency"]["p95"] == pytest.approx(300 + 2 * 400, abs=25), metrics
