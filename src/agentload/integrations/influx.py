"""Live InfluxDB output: per-second aggregates of every request, written without ever slowing the run.

`install(environment)` (called from the plugin's `init` listener) reads `influx_settings` and, when
enabled, hooks Locust's events: the request listener only adds the sample to an in-memory
`IntervalAggregator` (O(1), about 2 µs), and one gevent greenlet per process drains it every second
into a bounded `OutBuffer` and posts the lines with influxdb-client's SYNCHRONOUS write API. We do
the batching ourselves instead of using the client's rx/thread-pool batching because under Locust's
monkey-patching its "threads" are greenlets anyway, while its retry loop, its per-failure error
logging and its unbounded queue are exactly what a load generator must not have: here a dead or
slow server costs one short-timeout attempt per back-off period, ONE warning line, and a count of
dropped points (the buffer keeps at most 10,000). At quit the buffer is flushed within
`QUIT_BUDGET_S`; what cannot be written is counted, and `report_summary()` prints one line.

Processes: a local runner and every worker write their own points, tagged `worker` ("local" or the
Locust client id), so dashboards sum over `worker`; the master runs no users and writes nothing,
but sums the workers' drop counts from their reports. The master (or local runner) picks the run id
(env AGENTLOAD_RUN_ID, else random per test start) and the profile name, and ships both to the
workers inside the spawn message's parsed options; it also blanks the token there, so the token
never leaves the process that read it (give each worker INFLUX_TOKEN or --influx-token).
"""

from __future__ import annotations

import logging
import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TextIO

import gevent
from gevent.event import Event

from agentload.integrations.influx_points import IntervalAggregator, OutBuffer, RunTags
from agentload.integrations.influx_settings import InfluxSettings, add_influx_options, influx_settings
from agentload.integrations.influx_writer import InfluxWriter, WriteFailed
from agentload.recording import journeys
from agentload.recording.generator import health_event
from agentload.recording.samples import Sample
from agentload.run_context import profile_name
from agentload.traffic.arrival import ITERATION_EVENTS, iteration_event
from agentload.traffic.classify import event_sample

__all__ = ["InfluxListener", "InfluxSettings", "add_influx_options", "influx_settings", "install"]

logger = logging.getLogger("agentload.influx")

INTERVAL_S = 1.0
BATCH_POINTS = 5_000
QUIT_BUDGET_S = 5.0
MAX_BACKOFF_S = 30.0
SHARED_OPTION = "agentload_influx"
"""Attribute of the master's parsed options that carries run id and profile to the workers."""
REPORT_KEY = "agentload_influx"


class InfluxListener:
    """The per-process InfluxDB output; `role` is "local", "worker" or "master" (collects drops only)."""

    def __init__(
        self,
        environment: Any,
        settings: InfluxSettings,
        role: str,
        writer: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` (monotonic seconds) times the drains and the back-off; tests pass their own."""
        self.environment = environment
        self._clock = clock
        self.settings = settings
        self.role = role
        self.aggregator = IntervalAggregator()
        self.buffer = OutBuffer(settings.max_points)
        self.written = 0
        self.failure: str | None = None
        self.worker_drops: dict[str, int] = {}
        self._writer = writer
        self._tags: RunTags | None = None
        self._loop: gevent.Greenlet | None = None
        self._wake = Event()
        self._last_drain = self._clock()
        self._last_ts = 0
        self._retry_at = 0.0
        self._backoff = INTERVAL_S
        self._warned = self._summarized = False

    # --- what the lead reads ------------------------------------------------------------------

    @property
    def dropped(self) -> int:
        """Points lost so far: buffer overflow, rejected batches, unsent at quit (+ workers' on a master)."""
        return self.buffer.dropped + sum(self.worker_drops.values())

    def stats(self) -> dict[str, Any]:
        """Plain numbers for the JSON report."""
        return {"points_written": self.written, "points_dropped": self.dropped, "error": self.failure}

    def summary_line(self) -> str:
        where = self.settings.safe_url
        if self.role == "master":
            return f"influx: {self.dropped:,} points dropped on workers (each worker prints its own line)"
        if self.dropped:
            why = self.failure or "buffer full"
            kind = "server unreachable" if self.failure and not self.failure.startswith("HTTP") else "server"
            dropped = f"influx: {self.dropped:,} points dropped ({kind}: {why})"
            return f"{dropped}; {self.written:,} written to {where}"
        return f"influx: {self.written:,} points written to {where}"

    def report_summary(self, stream: TextIO | None = None) -> None:
        """Print the one summary line (once per process)."""
        if self._summarized:
            return
        self._summarized = True
        (stream or sys.stderr).write(self.summary_line() + "\n")

    # --- Locust listeners ----------------------------------------------------------------------

    def on_request(
        self,
        name: str = "",
        response_time: float | None = 0.0,
        response_length: int | None = 0,
        exception: BaseException | None = None,
        context: dict[str, Any] | None = None,
        response: Any = None,
        **_: Any,
    ) -> None:
        sample = context.get("agentload") if context else None
        scenario = (context.get("scenario") if context else None) or "all"
        if sample is None:  # a custom user's request: the same sample the recorder makes of it
            sample = event_sample(name, response_time or 0.0, exception, response)
        self.aggregator.add_sample(scenario, sample, response_length or 0)

    def on_journey(self, name: str, wall_ms: float, failed: bool) -> None:
        """A journey is a sample of scenario `journey`, metric its name: failed ones as errors."""
        outcome, failure = ("error", "journey failed") if failed else ("ok", None)
        self.aggregator.add_sample("journey", Sample(name, wall_ms, outcome, failure))

    def on_iteration_started(self, **_: Any) -> None:
        self.aggregator.iterations += 1

    def on_dropped_iteration(self, **_: Any) -> None:
        self.aggregator.dropped_iterations += 1

    def on_test_start(self, environment: Any = None, **_: Any) -> None:
        if self._tags is not None:
            self.collect()
        self._tags = self._run_tags()
        self._last_drain = self._clock()
        if self._loop is None or self._loop.dead:
            self._wake.clear()
            self._loop = gevent.spawn(self._run)

    def on_test_stop(self, environment: Any = None, **_: Any) -> None:
        self._stop_loop()
        self.collect()
        if self._clock() >= self._retry_at:
            self.send(self._clock() + QUIT_BUDGET_S)

    def on_quitting(self, environment: Any = None, **_: Any) -> None:
        self._stop_loop()
        if self._tags is not None:
            self.collect()
        self.send(self._clock() + QUIT_BUDGET_S, ignore_backoff=True)
        lost = self.buffer.discard_all()
        if lost and self.failure is None:
            self.failure = "quit before the server answered"
        if self._writer is not None:
            self._writer.close()
        if self.role == "worker":
            self.report_summary()

    def on_report_to_master(self, client_id: str, data: dict[str, Any]) -> None:
        data[REPORT_KEY] = {"dropped": self.buffer.dropped}

    def on_worker_report(self, client_id: str, data: dict[str, Any]) -> None:
        report = data.get(REPORT_KEY)
        if isinstance(report, dict):
            self.worker_drops[client_id] = int(report.get("dropped", 0))

    # --- the flusher ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._wake.wait(timeout=INTERVAL_S):
            self.collect()
            if self._clock() >= self._retry_at:
                self.send(self._clock() + QUIT_BUDGET_S)

    def _stop_loop(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.dead:
            self._wake.set()
            loop.join(timeout=self.settings.timeout_s + 1.0)
            loop.kill(block=True, timeout=1.0)

    def collect(self) -> None:
        """Drain the interval's aggregates into the outgoing buffer (never blocks, never raises I/O)."""
        now = self._clock()
        interval, self._last_drain = now - self._last_drain, now
        timestamp = max(int(time.time() * 1000), self._last_ts + 1)
        self._last_ts = timestamp
        tags = self._tags or self._run_tags()
        runner = getattr(self.environment, "runner", None)
        users = getattr(runner, "user_count", None)
        self.buffer.extend(self.aggregator.drain(tags, timestamp, interval, users))

    def send(self, deadline: float, ignore_backoff: bool = False) -> None:
        """Write the buffer in batches until it is empty, a write fails, or `deadline` passes."""
        if self._writer is None or (not ignore_backoff and self._clock() < self._retry_at):
            return
        while len(self.buffer) and self._clock() < deadline:
            batch = self.buffer.take(BATCH_POINTS)
            try:
                with gevent.Timeout(self.settings.timeout_s + 1.0, WriteFailed("timed out", True)):
                    self._writer.write(batch)
            except WriteFailed as exc:
                self._failed(batch, exc)
                return
            except BaseException:
                self.buffer.put_back(batch)  # killed mid-write: keep the batch for the final flush
                raise
            self.written += len(batch)
            self._backoff, self._retry_at = INTERVAL_S, 0.0

    def _failed(self, batch: list[str], exc: WriteFailed) -> None:
        if exc.retryable:
            self.buffer.put_back(batch)
        else:
            self.buffer.dropped += len(batch)
        self.failure = exc.reason
        self._retry_at = self._clock() + self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
        if not self._warned:
            self._warned = True
            logger.warning(
                "influx: cannot write to %s (%s); the run goes on, up to %s points are kept, drops counted",
                self.settings.safe_url,
                exc.reason,
                f"{self.settings.max_points:,}",
            )

    # --- run tags ------------------------------------------------------------------------------

    def _run_tags(self) -> RunTags:
        options = getattr(self.environment, "parsed_options", None)
        shared = getattr(options, SHARED_OPTION, None) if self.role == "worker" else None
        if isinstance(shared, dict) and shared.get("run_id"):
            return RunTags(str(shared["run_id"]), str(shared.get("profile") or "custom"), self._worker())
        run_id = self.settings.run_id or uuid.uuid4().hex[:12]
        tags = RunTags(run_id, profile_name(self.environment), self._worker())
        if options is not None and self.role != "worker":
            setattr(options, SHARED_OPTION, {"run_id": tags.run_id, "profile": tags.profile})
        return tags

    def _worker(self) -> str:
        if self.role == "worker":
            return str(getattr(self.environment.runner, "client_id", "") or "worker")
        return self.role


def install(environment: Any, env: dict[str, str] | None = None, writer: Any = None) -> InfluxListener | None:
    """Enable the output on this process if configured; returns the listener (None when disabled).

    Raises `SettingsError` (one line) for bad settings or a missing influxdb-client. Idempotent:
    the listener is kept as `environment.agentload_influx` and a second call returns it.
    """
    existing = getattr(environment, "agentload_influx", None)
    if existing is not None:
        return existing
    options = getattr(environment, "parsed_options", None)
    settings = influx_settings(options, os.environ if env is None else env)
    if settings is None:
        return None
    _scrub_options(options)
    role = _role(environment)
    if role != "master" and writer is None:
        writer = InfluxWriter(settings)
    listener = InfluxListener(environment, settings, role, writer)
    _register(environment, listener)
    environment.agentload_influx = listener
    return listener


def _register(environment: Any, listener: InfluxListener) -> None:
    events = environment.events
    if listener.role == "master":
        events.worker_report.add_listener(listener.on_worker_report)
        events.test_start.add_listener(lambda **_: listener._run_tags())
        return
    events.request.add_listener(listener.on_request)
    journeys.watch(listener.on_journey)
    for name, handler in zip(
        ITERATION_EVENTS, (listener.on_iteration_started, listener.on_dropped_iteration), strict=True
    ):
        iteration_event(environment, name).add_listener(handler)
    health_event(environment).add_listener(listener.aggregator.add_generator)
    events.test_start.add_listener(listener.on_test_start)
    events.test_stop.add_listener(listener.on_test_stop)
    events.quitting.add_listener(listener.on_quitting)
    if listener.role == "worker":
        events.report_to_master.add_listener(listener.on_report_to_master)


def _role(environment: Any) -> str:
    from locust.runners import MasterRunner, WorkerRunner

    runner = getattr(environment, "runner", None)
    if isinstance(runner, MasterRunner):
        return "master"
    return "worker" if isinstance(runner, WorkerRunner) else "local"


def _scrub_options(options: Any) -> None:
    """Blank the token (and URL credentials) in the parsed options, which Locust ships to workers."""
    if options is None:
        return
    if getattr(options, "influx_token", None):
        options.influx_token = None
    url = getattr(options, "influx_url", None)
    if url and "@" in str(url):
        from agentload.settings import redact_url

        options.influx_url = redact_url(str(url))
