"""TTFT and inter-token timing measured by the suite against a platform with known, fixed timings."""

from __future__ import annotations

import pytest

from agentload.platform.process import start_platform
from agentload.traffic.streams import FORMATS

from locust_run import run_locust

CHAT_LOCUSTFILE = """
import locust  # noqa: F401
from locust import constant
from agentload import plugin  # noqa: F401
from agentload.traffic.users import ChatUser

class Chat(ChatUser):
    abstract = False
    wait_time = constant(0.05)
"""
BUDGETS = "budgets:\n  - {metric: chat_response_latency, stat: p95, threshold: 5s, min_samples: 1}\n"


@pytest.mark.parametrize("stream_format", FORMATS)
def test_ttft_and_inter_token_gaps_match_the_platform(tmp_path, stream_format) -> None:
    """Median TTFT within 5 ms of the platform's fixed 200 ms, median gap within 5 ms of 20 ms."""
    locustfile = tmp_path / "chat.py"
    locustfile.write_text(CHAT_LOCUSTFILE)
    budgets = tmp_path / "budgets.yaml"
    budgets.write_text(BUDGETS)
    timings = ("--fixed-ttft-ms", "200", "--fixed-itl-ms", "20", "--fixed-tokens", "8")
    with start_platform(*timings, "--stream-format", stream_format) as platform:
        run = run_locust(
            locustfile,
            "--host",
            platform.url,
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "3s",
            "--budgets",
            str(budgets),
            report=tmp_path / "r.json",
        )
    assert run.returncode == 0, run.output[-3000:]
    metrics = run.report["metrics"]
    assert metrics["chat_time_to_first_token"]["med"] == pytest.approx(200, abs=5)
    assert metrics["chat_inter_token_latency"]["med"] == pytest.approx(20, abs=5)
    assert metrics["chat_output_tokens"]["med"] == pytest.approx(8, abs=0.5)
