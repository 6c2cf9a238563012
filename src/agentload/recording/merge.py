"""How every process's samples reach the one `Aggregate` that the verdict reads.

A local runner drains its recorder into the aggregate every second (so live views are current)
and once more at the end. Workers piggy-back their drained deltas on Locust's own worker report
(every 3 s). At the end, Locust's master sends "quit" and waits only 0.5 s for the workers' last
reports, so samples can be lost on a busy machine. When the master stops, it therefore asks every
worker to stop its users and send one final delta, and waits (bounded) for each answer before the
verdict is computed. With `--stop-timeout` a worker's users may take that long to finish their
tasks: the worker stops them in a greenlet of its own (its message loop keeps answering heartbeats,
so neither side takes the other for lost) and the master waits the stop timeout on top."""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust.runners import MasterRunner, WorkerRunner

logger = logging.getLogger(__name__)

REPORT_KEY = "agentload"
FLUSH = "agentload_flush"
FINAL = "agentload_final"
FINAL_WAIT_S = 15.0
WATCH_S = 0.5


def install_worker(environment: Any) -> None:
    runner: WorkerRunner = environment.runner
    run = environment.agentload
    run.recorder.source = runner.client_id  # named with each of its slowest requests

    def on_report_to_master(client_id: str, data: dict[str, Any]) -> None:
        data[REPORT_KEY] = run.recorder.drain()

    def on_flush(environment: Any, msg: Any, **_: Any) -> None:
        runner.stop()
        runner.send_message(FINAL, {"client_id": runner.client_id, REPORT_KEY: run.recorder.drain()})

    environment.events.report_to_master.add_listener(on_report_to_master)
    runner.register_message(FLUSH, on_flush, concurrent=True)  # stop() may last --stop-timeout


def install_master(environment: Any) -> None:
    runner: MasterRunner = environment.runner
    run = environment.agentload
    pending: set[str] = set()

    def on_worker_report(client_id: str, data: dict[str, Any]) -> None:
        if REPORT_KEY in data:
            run.aggregate.merge_wire(data[REPORT_KEY])

    def on_final(environment: Any, msg: Any, **_: Any) -> None:
        run.aggregate.merge_wire(msg.data[REPORT_KEY])
        pending.discard(msg.data["client_id"])

    def on_test_stop(environment: Any, **_: Any) -> None:
        pending.clear()
        pending.update(worker.id for worker in runner.clients.all if worker.state != "missing")
        for worker_id in sorted(pending):
            runner.send_message(FLUSH, None, worker_id)
        deadline = time.monotonic() + FINAL_WAIT_S + float(environment.stop_timeout or 0)
        while pending and time.monotonic() < deadline:
            gevent.sleep(0.05)
        for worker_id in sorted(pending):
            note = f"lost worker {worker_id}: no final report"
            logger.warning(note)
            run.aggregate.incomplete.append(note)

    watch = WorkerWatch(environment)
    environment.events.worker_report.add_listener(on_worker_report)
    environment.events.test_start.add_listener(watch.start)
    environment.events.test_stop.add_listener(watch.stop)
    environment.events.test_stop.add_listener(on_test_stop)
    runner.register_message(FINAL, on_final)


class WorkerWatch:
    """Notes every worker that goes missing or quits while the test runs: the run is then incomplete."""

    def __init__(self, environment: Any) -> None:
        self.runner: MasterRunner = environment.runner
        self.run = environment.agentload
        self.known: set[str] = set()
        self.greenlet: gevent.Greenlet | None = None

    def live(self) -> set[str]:
        return {worker.id for worker in self.runner.clients.all if worker.state != "missing"}

    def check(self) -> None:
        current = self.live()
        for worker_id in sorted(self.known - current):
            elapsed = time.time() - (self.run.started_at or time.time())
            note = f"lost worker {worker_id} at t={elapsed:.0f}s"
            logger.error("%s; finishing the run with what it has", note)
            self.run.aggregate.incomplete.append(note)
        self.known = current

    def start(self, **_: Any) -> None:
        self.known = self.live()
        self.greenlet = gevent.spawn(self._forever)

    def stop(self, **_: Any) -> None:
        """Called first at test stop: one last look, then no more watching (workers quit next)."""
        if self.greenlet is not None:
            self.greenlet.kill(block=False)
            self.greenlet = None
            self.check()

    def _forever(self) -> None:
        while True:
            gevent.sleep(WATCH_S)
            self.check()


LOCAL_FLUSH_S = 1.0


def install_local(environment: Any) -> None:
    """Drain the local recorder into the aggregate every second while a test runs."""
    run = environment.agentload
    flusher: list[gevent.Greenlet] = []

    def flush_forever() -> None:
        while True:
            gevent.sleep(LOCAL_FLUSH_S)
            run.aggregate.merge_deltas(run.recorder.drain_deltas())

    def on_test_start(**_: Any) -> None:
        flusher.append(gevent.spawn(flush_forever))

    def on_test_stop(**_: Any) -> None:
        while flusher:
            flusher.pop().kill(block=False)
        run.aggregate.merge_deltas(run.recorder.drain_deltas())

    environment.events.test_start.add_listener(on_test_start)
    environment.events.test_stop.add_listener(on_test_stop)
