"""The InfluxDB listener without a database: cheap recording, one warning, bounded quit, counted drops."""

from __future__ import annotations

import logging
import socket
import time
from types import SimpleNamespace
from typing import Any

import gevent
import pytest
from locust.event import Events

from agentload.integrations import influx
from agentload.integrations.influx_settings import InfluxSettings, influx_settings
from agentload.integrations.influx_writer import InfluxWriter, WriteFailed, describe_error
from agentload.recording.journeys import journey
from agentload.recording.samples import Sample
from agentload.settings import Secret

ENV = {"INFLUX_URL": "http://u:pw-SECRET@127.0.0.1:9", "INFLUX_ORG": "o", "INFLUX_BUCKET": "b"}


class FakeWriter:
    """Records batches and counts write attempts, or fails every write with `error`."""

    def __init__(self, error: WriteFailed | None = None) -> None:
        self.error = error
        self.batches: list[list[str]] = []
        self.attempts = 0
        self.closed = False

    def write(self, lines: list[str]) -> None:
        self.attempts += 1
        if self.error is not None:
            raise self.error
        self.batches.append(list(lines))

    def close(self) -> None:
        self.closed = True


def make_env(token: str = "tok-SECRET") -> Any:
    options = SimpleNamespace(influx_token=token, influx_url=None, locustfile="smoke.py")
    return SimpleNamespace(events=Events(), runner=SimpleNamespace(user_count=2), parsed_options=options)


def installed(writer: FakeWriter, **env: str) -> tuple[Any, influx.InfluxListener]:
    environment = make_env()
    listener = influx.install(environment, env={**ENV, **env}, writer=writer)
    assert listener is not None
    return environment, listener


def fire(environment: Any, n: int, outcome: str = "ok") -> None:
    sample = Sample(
        "intent_inference_latency", 12.5, outcome, failure=None if outcome == "ok" else "http_500"
    )
    for _ in range(n):
        environment.events.request.fire(
            request_type="POST",
            name="intent",
            response_time=12.5,
            response_length=42,
            exception=None,
            context={"agentload": sample, "scenario": "Intent"},
        )


def test_disabled_returns_none() -> None:
    """Without a URL nothing is registered and install returns None."""
    environment = make_env()
    assert influx.install(environment, env={}) is None
    assert not hasattr(environment, "agentload_influx")


def test_install_is_idempotent_and_scrubs_the_token() -> None:
    """A second install returns the same listener; the shipped-to-workers options lose the token."""
    environment, listener = installed(FakeWriter())
    assert influx.install(environment, env=ENV) is listener
    assert environment.parsed_options.influx_token is None
    assert listener.settings.url == "http://127.0.0.1:9" and str(listener.settings.token) == "tok-SECRET"


def test_request_events_are_aggregated_in_memory_until_the_flush() -> None:
    """The request listener never writes: 21,000 events become one aggregated point at the flush."""
    environment, listener = installed(FakeWriter())
    fire(environment, 21_000)
    assert listener._writer.attempts == 0 and len(listener.buffer) == 0
    listener.on_test_start()
    listener.on_quitting()
    lines = [line for batch in listener._writer.batches for line in batch]
    assert sum(line.count("count=21000i") for line in lines) == 1


def test_points_written_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    """test_start..quitting writes every interval; the summary line names the URL without credentials."""
    environment, listener = installed(FakeWriter())
    listener.on_test_start()
    fire(environment, 5)
    listener.on_test_stop()
    listener.on_quitting()
    lines = [line for batch in listener._writer.batches for line in batch]
    assert any(line.startswith("agentload_requests,") and "count=5i" in line for line in lines)
    assert any(line.startswith("agentload_users,") and "users=2i" in line for line in lines)
    listener.report_summary()
    listener.report_summary()
    err = capsys.readouterr().err
    assert err == f"influx: {len(lines)} points written to http://127.0.0.1:9\n"
    assert listener.stats() == {"points_written": len(lines), "points_dropped": 0, "error": None}


def test_server_down_one_warning_and_counted_drops(caplog: pytest.LogCaptureFixture) -> None:
    """Every write fails: one warning in all, nothing raised, every point counted as dropped at quit."""
    environment, listener = installed(FakeWriter(WriteFailed("connection refused", True)))
    listener.on_test_start()
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            fire(environment, 3)
            listener.collect()
            listener.send(time.monotonic() + 1, ignore_backoff=True)
        listener.on_quitting()
    warnings = [r.getMessage() for r in caplog.records if "influx" in r.getMessage()]
    assert len(warnings) == 1 and "connection refused" in warnings[0] and "SECRET" not in warnings[0]
    assert listener.dropped >= 10 and listener.written == 0
    assert listener.summary_line().startswith(
        f"influx: {listener.dropped} points dropped (server unreachable:"
    )


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seconds_until_next_attempt(
    listener: influx.InfluxListener, writer: FakeWriter, clock: FakeClock,
) -> float:
    """Move the clock in 0.25 s steps, offering a flush at each, until the listener tries a write."""
    started, attempts = clock.now, writer.attempts
    while writer.attempts == attempts:
        assert clock.now - started < 120, "no retry within two minutes"
        clock.now += 0.25
        listener.send(clock.now + 1)
    return clock.now - started


def test_backoff_doubles_from_one_second_up_to_the_cap() -> None:
    """After each failed write the next try waits 1, 2, 4 ... s up to 30 s; a success starts over at 1 s."""
    writer, clock = FakeWriter(WriteFailed("timed out", True)), FakeClock()
    environment = make_env()
    settings = influx_settings(environment.parsed_options, ENV)
    listener = influx.InfluxListener(environment, settings, "local", writer, clock=clock)
    listener.collect()
    listener.send(clock.now + 1)
    assert writer.attempts == 1
    waits = [seconds_until_next_attempt(listener, writer, clock) for _ in range(7)]
    assert waits == [1, 2, 4, 8, 16, 30, 30]
    assert writer.batches == [] and len(listener.buffer) == 1  # the failed batch is kept for the retry
    writer.error = None
    assert seconds_until_next_attempt(listener, writer, clock) == 30
    assert len(writer.batches) == 1 and len(listener.buffer) == 0
    writer.error = WriteFailed("timed out", True)
    listener.collect()
    listener.send(clock.now + 1)
    assert seconds_until_next_attempt(listener, writer, clock) == 1


def test_rejected_batch_is_dropped_not_retried() -> None:
    """A 4xx answer (bad token, unknown bucket) drops the batch at once and says so."""
    environment, listener = installed(FakeWriter(WriteFailed("HTTP 401 unauthorized", False)))
    listener.on_test_start()
    fire(environment, 1)
    listener.on_quitting()
    assert listener.dropped == 2 and len(listener.buffer) == 0
    assert listener.summary_line().startswith("influx: 2 points dropped (server: HTTP 401 unauthorized)")


def test_overflow_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the server down, the buffer holds at most INFLUX_MAX_POINTS and counts the rest."""
    environment, listener = installed(
        FakeWriter(WriteFailed("connection refused", True)), INFLUX_MAX_POINTS="3"
    )
    listener._tags = listener._run_tags()
    for scenario in range(5):
        environment.events.request.fire(
            name="x",
            response_time=1.0,
            response_length=0,
            exception=None,
            context={"scenario": str(scenario)},
        )
    listener.collect()
    assert len(listener.buffer) == 3 and listener.dropped == 3


def test_quit_is_bounded_with_a_silent_server() -> None:
    """A server that accepts but never answers: the final flush gives up after the short timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = InfluxSettings(f"http://127.0.0.1:{port}", "o", "b", Secret("t"), timeout_s=0.3)
        listener = influx.InfluxListener(make_env(), settings, "local", InfluxWriter(settings))
        listener.on_test_start()
        started = time.monotonic()
        listener.on_quitting()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    assert listener.dropped >= 1 and listener.failure == "timed out"


def test_master_sums_worker_drops_and_writes_nothing() -> None:
    """On a master, the listener only adds up what workers report."""
    listener = influx.InfluxListener(
        make_env(), influx.influx_settings(None, {**ENV, "INFLUX_TOKEN": "t"}), "master"
    )
    listener.on_worker_report("w1", {"agentload_influx": {"dropped": 4}})
    listener.on_worker_report("w2", {"agentload_influx": {"dropped": 1}})
    listener.on_worker_report("w1", {"agentload_influx": {"dropped": 6}})
    assert listener.dropped == 7
    assert listener.summary_line() == "influx: 7 points dropped on workers (each worker prints its own line)"


def test_worker_uses_the_run_id_shipped_by_the_master() -> None:
    """Run id and profile set by the master arrive in the parsed options; the worker tag is the client id."""
    environment = make_env()
    environment.parsed_options.agentload_influx = {"run_id": "abc", "profile": "stress"}
    environment.runner = SimpleNamespace(user_count=1, client_id="host_123")
    listener = influx.InfluxListener(
        environment, influx.influx_settings(None, {**ENV, "INFLUX_TOKEN": "t"}), "worker"
    )
    assert listener._run_tags() == influx.RunTags("abc", "stress", "host_123")


def test_local_run_id_from_env_and_shared() -> None:
    """AGENTLOAD_RUN_ID names the run; the master/local process publishes it for workers."""
    environment, listener = installed(FakeWriter(), AGENTLOAD_RUN_ID="ci-42")
    tags = listener._run_tags()
    assert (tags.run_id, tags.profile, tags.worker) == ("ci-42", "smoke", "local")
    assert environment.parsed_options.agentload_influx == {"run_id": "ci-42", "profile": "smoke"}


def test_background_flush_every_second() -> None:
    """The flusher greenlet writes while the run goes on, about once per second."""
    environment, listener = installed(FakeWriter())
    listener.on_test_start()
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        fire(environment, 10)
        gevent.sleep(0.01)
    assert 2 <= len(listener._writer.batches) <= 3
    listener.on_quitting()


class ApiError(Exception):
    """Shaped like influxdb_client's ApiException: status and reason, and a text that quotes secrets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__("token tok-SECRET in headers")
        self.status, self.reason = status, reason


@pytest.mark.parametrize(
    ("exc", "reason", "retryable"),
    [
        (ConnectionRefusedError(111, "refused"), "connection refused", True),
        (TimeoutError("x"), "timed out", True),
        (socket.gaierror(-2, "Name or service not known"), "unknown host", True),
        (ApiError(503, "Service Unavailable"), "HTTP 503 service unavailable", True),
        (ApiError(429, "Too Many Requests"), "HTTP 429 too many requests", True),
        (ApiError(404, "Not Found"), "HTTP 404 not found", False),
    ],
)
def test_describe_error(exc: BaseException, reason: str, retryable: bool) -> None:
    """Failures are described by type and status only (an exception's text may quote secrets)."""
    assert describe_error(exc) == (reason, retryable)


def test_journeys_are_written_as_scenario_journey() -> None:
    """A journey that ends is a point of scenario `journey`, metric its name; a failed one an error."""
    _, listener = installed(FakeWriter())
    listener.on_test_start()

    def run() -> None:
        with journey("influx_j"):
            pass
        with pytest.raises(RuntimeError), journey("influx_j"):
            raise RuntimeError("boom")

    gevent.spawn(run).join()
    listener.on_test_stop()
    listener.on_quitting()
    lines = [line for batch in listener._writer.batches for line in batch]
    journeys = [line for line in lines if "scenario=journey" in line and "metric=influx_j" in line]
    assert any("status_class=ok" in line and "count=1i" in line for line in journeys), journeys
    assert any("status_class=error" in line and "count=1i" in line for line in journeys), journeys
