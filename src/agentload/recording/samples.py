"""A classified request (`Sample`) and the one mapping from a sample to histograms and counters."""

from __future__ import annotations

from dataclasses import dataclass

from agentload.recording.breakdown import parts_of, with_server_total
from agentload.recording.metrics import SCHEDULED_SUFFIX
from agentload.recording.recorder import Recorder


@dataclass(slots=True)
class Sample:
    """One classified request, as the traffic layer hands it to the recorder.

    `outcome` is "ok", "error" or "shed". Only successful requests feed latency distributions;
    TTFT is kept even for a stream that broke after its first token. Built once per request on the
    hot path, so it is a slotted dataclass (a frozen one costs a setattr call per field).
    """

    metric: str
    latency_ms: float
    outcome: str
    failure: str | None = None
    status: int = 0
    ttft_ms: float | None = None
    inter_token_ms: tuple[float, ...] = ()
    output_tokens: int | None = None
    tokens_per_second: float | None = None
    schedule_lag_ms: float | None = None
    stream_format: str | None = None
    trace_id: str | None = None
    started_at: float | None = None
    """Wall-clock start (epoch seconds), kept for the slowest requests."""
    server_timing: dict[str, float] | None = None
    """The response's `Server-Timing` entries in ms (`app` is the server's total)."""


STREAM_FORMAT_PREFIX = "stream_format:"
"""Streamed answers are counted per wire format (`stream_format:ai-sdk`), so reports name what was seen."""


def record_sample(recorder: Recorder, sample: Sample) -> None:
    """Turn one sample into histogram values and counters: the only place that mapping lives."""
    recorder.count("requests")
    if sample.outcome == "ok":
        recorder.observe(sample.metric, sample.latency_ms)
        if sample.schedule_lag_ms is not None:
            recorder.observe(sample.metric + SCHEDULED_SUFFIX, sample.latency_ms + sample.schedule_lag_ms)
        if sample.output_tokens is not None:
            recorder.observe("chat_output_tokens", sample.output_tokens)
        if sample.tokens_per_second is not None:
            recorder.observe("chat_tokens_per_second", sample.tokens_per_second)
        for gap in sample.inter_token_ms:
            recorder.observe("chat_inter_token_latency", gap)
        if sample.server_timing:
            _record_parts(recorder, sample.metric, sample.latency_ms, sample.server_timing)
        if sample.trace_id is not None:
            recorder.slow_request(
                sample.metric,
                sample.latency_ms,
                sample.started_at or 0.0,
                sample.trace_id,
                sample.status,
                sample.server_timing or {},
            )
    else:
        recorder.count("shed" if sample.outcome == "shed" else "errors")
        recorder.error(sample.failure or "unknown")
        if sample.outcome == "error" and 500 <= sample.status <= 599:
            recorder.count("http_5xx")
    if sample.ttft_ms is not None:
        recorder.observe("chat_time_to_first_token", sample.ttft_ms)
    if sample.schedule_lag_ms is not None:
        recorder.observe("iteration_schedule_lag", sample.schedule_lag_ms)
    if sample.stream_format is not None:
        recorder.count(STREAM_FORMAT_PREFIX + sample.stream_format)


def _record_parts(recorder: Recorder, metric: str, latency_ms: float, timings: dict[str, float]) -> None:
    """Each part of the request as `<metric>.<part>`, and the parts into the metric's breakdown."""
    parts = parts_of(latency_ms, timings)
    for part, ms in with_server_total(parts, timings).items():
        recorder.observe(f"{metric}.{part}", ms)
    if "app" in timings:
        recorder.breakdown(metric, latency_ms, parts)
