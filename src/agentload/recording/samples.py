"""A classified request (`Sample`) and the one mapping from a sample to histograms and counters."""

from __future__ import annotations

from dataclasses import dataclass

from agentload.recording.breakdown import parts_of, with_server_total
from agentload.recording.labels import check_labels, labeled
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
    labels: dict[str, str] | None = None
    """Bounded labels (`labels.BOUNDS`), e.g. {"turn": "3"}: the sample is also recorded in its
    labeled series (`metric{turn:3}`), beside the whole metric."""


STREAM_FORMAT_PREFIX = "stream_format:"
"""Streamed answers are counted per wire format (`stream_format:ai-sdk`), so reports name what was seen."""


def record_sample(recorder: Recorder, sample: Sample) -> None:
    """Record `sample` in the whole metrics and, when it has labels, in its labeled series too."""
    _record(recorder, sample)
    if sample.labels:
        _record(LabeledSeries(recorder, sample.labels), sample, whole=False)  # type: ignore[arg-type]


class LabeledSeries:
    """A recorder's stand-in that files values and counts under `labeled(name, labels)`.

    Only the metrics' own histograms and counters are labeled: error names, request parts,
    stream formats and the slowest requests stay with the whole metric.
    """

    def __init__(self, recorder: Recorder, labels: dict[str, str]) -> None:
        check_labels(labels)
        self.recorder = recorder
        self.labels = labels

    def observe(self, metric: str, value: float) -> None:
        self.recorder.observe(labeled(metric, self.labels), value)

    def count(self, counter: str, n: int = 1) -> None:
        self.recorder.count(labeled(counter, self.labels), n)

    def error(self, name: str) -> None:
        pass


def _record(recorder: Recorder, sample: Sample, whole: bool = True) -> None:
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
        if sample.server_timing and whole:
            _record_parts(recorder, sample.metric, sample.latency_ms, sample.server_timing)
        if sample.trace_id is not None and whole:
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
    if sample.stream_format is not None and whole:
        recorder.count(STREAM_FORMAT_PREFIX + sample.stream_format)


def _record_parts(recorder: Recorder, metric: str, latency_ms: float, timings: dict[str, float]) -> None:
    """Each part of the request as `<metric>.<part>`, and the parts into the metric's breakdown."""
    parts = parts_of(latency_ms, timings)
    for part, ms in with_server_total(parts, timings).items():
        recorder.observe(f"{metric}.{part}", ms)
    if "app" in timings:
        recorder.breakdown(metric, latency_ms, parts)
