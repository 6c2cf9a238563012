"""The reference platform's truncate fault is a detectable truncation in every stream format.

Its stream formats exist so tests and demos can exercise each decoder path; a truncated answer that
one format could not tell from a complete one would hide exactly the failure the fault injects. Each
request goes through the suite's real client path (AgentApi on Locust's FastHttpSession).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

from agentload.platform.process import USER_HEADERS, PlatformProcess, start_platform
from agentload.settings import Settings
from agentload.traffic.api import AgentApi
from agentload.traffic.endpoints import CHAT
from agentload.traffic.streams import FORMATS

TIMINGS = ("--fixed-ttft-ms", "5", "--fixed-itl-ms", "2", "--fixed-tokens", "8")


@pytest.fixture(scope="module")
def truncating() -> Iterator[PlatformProcess]:
    """A platform that cuts every chat answer halfway."""
    with start_platform(*TIMINGS, "--truncate-rate", "chat=1") as proc:
        yield proc


def chat_in(platform: PlatformProcess, stream_format: str) -> object:
    """One streamed chat through AgentApi, asking the platform for `stream_format`."""
    api = AgentApi(FastHttpSession(platform.url, EventHook(), user=None), Settings(base_url=platform.url))
    body = {"messages": [{"role": "user", "content": "book a table"}], "stream": True}
    return api.call(CHAT, body, {**USER_HEADERS, "X-Stream-Format": stream_format})


@pytest.mark.parametrize("stream_format", FORMATS)
def test_truncate_fault_is_a_truncated_stream_in_every_format(truncating, stream_format) -> None:
    """Cut halfway, each format is `truncated stream`, recognised as itself, with its TTFT kept."""
    sample = chat_in(truncating, stream_format)
    assert (sample.outcome, sample.failure) == ("error", "truncated stream")
    assert sample.stream_format == stream_format
    assert sample.ttft_ms is not None


def test_a_forced_format_reads_every_answer_that_way() -> None:
    """`--stream-format text` (Settings.stream_format) reads an OpenAI SSE answer as plain text."""
    with start_platform(*TIMINGS) as platform:
        settings = Settings(base_url=platform.url, stream_format="text")
        api = AgentApi(FastHttpSession(platform.url, EventHook(), user=None), settings)
        sample = api.chat("book a table")
    assert (sample.outcome, sample.stream_format) == ("ok", "text")
    assert sample.ttft_ms is not None and sample.output_tokens >= 1
