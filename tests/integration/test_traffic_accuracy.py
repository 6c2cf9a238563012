"""TTFT and inter-token timing measured by the suite against a platform with known, fixed timings."""

from __future__ import annotations

import pytest

from agentload.platform.process import start_platform
from agentload.traffic.streams import FORMATS

from locust_run import run_chat


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
