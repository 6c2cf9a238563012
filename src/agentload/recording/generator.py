"""The generator's own health: how late each load-sending process's event loop runs, and its CPU.

A gevent process that is out of CPU runs every greenlet late: a response that arrived at the
socket is read only when the loop comes round to it, so the latency the process measures includes
that wait. A probe greenlet in every process that sends load (the local runner, each
`--processes` child, each worker; not a master) asks to wake every `PROBE_INTERVAL_S` and records
how late it woke (`generator_loop_lag`, ms), and every second the process's CPU share
(`generator_cpu`, percent of one core). Both go into the process's `Recorder` like any sample,
so they land per stage, ship to the master in the drained deltas and merge exactly; each is also
recorded labeled with the process (`{source:...}`) so the verdict and the reports can name the
worst one. `health(snapshot)` is the pure summary every reporter prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentload.recording.histogram import Histogram
from agentload.recording.labels import labeled, split
from agentload.recording.recorder import Recorder

LOOP_LAG = "generator_loop_lag"
CPU = "generator_cpu"
PROBE_INTERVAL_S = 0.02
"""20 ms: 50 wakes a second, a few µs each, and fine enough to see a loop that runs 10 ms late."""
CPU_EVERY_S = 1.0
HEALTH_EVENT = "generator_health"
"""Fired with `metric` and `value` for every probe value, so InfluxDB can write them per interval."""


def source_series(metric: str, source: str) -> str:
    """The per-process series of a generator metric, e.g. `generator_loop_lag{source:local}`."""
    return labeled(metric, {"source": source})


def record(recorder: Recorder, metric: str, value: float) -> None:
    """One probe value, into the whole metric and the recording process's own series."""
    recorder.observe(metric, value)
    recorder.observe(source_series(metric, recorder.source), value)


def health_event(environment: Any) -> Any:
    """`environment.events.generator_health`, made on first use by whoever asks first."""
    from agentload.events import custom_event

    return custom_event(environment, HEALTH_EVENT)


class Probe:
    """The greenlet that measures its own process's loop lag and CPU while a test runs."""

    def __init__(self, recorder: Recorder, event: Any = None) -> None:
        self.recorder = recorder
        self.event = event
        self._greenlet: Any = None

    def _record(self, metric: str, value: float) -> None:
        record(self.recorder, metric, value)
        if self.event is not None:
            self.event.fire(metric=metric, value=value)

    def start(self, **_: Any) -> None:
        import gevent
        import psutil

        self.stop()
        process = psutil.Process()
        process.cpu_percent(None)  # the first call only sets the starting point
        self._greenlet = gevent.spawn(self._forever, process)

    def stop(self, **_: Any) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _forever(self, process: Any) -> None:
        import gevent

        next_cpu = time.perf_counter() + CPU_EVERY_S
        while True:
            asked = time.perf_counter()
            gevent.sleep(PROBE_INTERVAL_S)
            woke = time.perf_counter()
            for lag in missed_wakes((woke - asked - PROBE_INTERVAL_S) * 1000):
                self._record(LOOP_LAG, lag)
            if woke >= next_cpu:
                self._record(CPU, process.cpu_percent(None))
                next_cpu = woke + CPU_EVERY_S


def missed_wakes(lag_ms: float, interval_ms: float = PROBE_INTERVAL_S * 1000) -> list[float]:
    """The lags of this wake and of the wakes a stalled loop skipped (`lag`, `lag - interval`, ...).

    A loop that stalls for 2 s wakes the probe once instead of 100 times; recording only that one
    value would let the stall weigh as 1/100 of its time (the probe's own coordinated omission).
    Filling in the skipped wakes, as HdrHistogram's `recordValueWithExpectedInterval` does, makes
    the histogram time-weighted: its P99 is the lag that 1% of the run's moments were worse than.
    """
    lags = [max(0.0, lag_ms)]
    while lags[-1] - interval_ms >= interval_ms:
        lags.append(lags[-1] - interval_ms)
    return lags


def install(environment: Any, enabled: bool = True) -> Probe | None:
    """Run the probe from test start to test stop in this process (a process that sends load)."""
    if not enabled:
        return None
    probe = Probe(environment.agentload.recorder, health_event(environment))
    environment.events.test_start.add_listener(probe.start)
    environment.events.test_stop.add_listener(probe.stop)
    return probe


@dataclass(frozen=True)
class ProcessHealth:
    """One process's generator health over the run (or a stage)."""

    source: str
    lag: Histogram
    cpu: Histogram | None

    @property
    def lag_p99(self) -> float:
        return self.lag.percentile(99)

    @property
    def cpu_max(self) -> float | None:
        return None if self.cpu is None else self.cpu.max

    @property
    def cpu_median(self) -> float | None:
        """Half the run's seconds were at least this busy: a loop with no idle time queues its work."""
        return None if self.cpu is None else self.cpu.percentile(50)


def per_process(histograms: Mapping[str, Histogram]) -> list[ProcessHealth]:
    """Each load-sending process's loop lag and CPU, worst (highest lag P99) first."""
    lags: dict[str, Histogram] = {}
    cpus: dict[str, Histogram] = {}
    for name, histogram in histograms.items():
        metric, labels = split(name)
        source = labels.get("source")
        if source is None or len(labels) != 1 or histogram.count < 1:
            continue
        if metric == LOOP_LAG:
            lags[source] = histogram
        elif metric == CPU:
            cpus[source] = histogram
    found = [ProcessHealth(source, lag, cpus.get(source)) for source, lag in lags.items()]
    return sorted(found, key=lambda process: (-process.lag_p99, process.source))


def worst(histograms: Mapping[str, Histogram]) -> ProcessHealth | None:
    """The process whose loop ran latest (by lag P99), or None when no probe ran."""
    processes = per_process(histograms)
    return processes[0] if processes else None


def describe(process: ProcessHealth) -> str:
    """`local: loop lag p99 3.1 ms, CPU max 42%`."""
    cpu = "n/a" if process.cpu_max is None else f"{process.cpu_max:.0f}%"
    return f"{process.source}: loop lag p99 {process.lag_p99:.4g} ms, CPU max {cpu}"


def health_line(histograms: Mapping[str, Histogram]) -> str:
    """The one line every report shows: each process's lag P99 and CPU max, worst first."""
    processes = per_process(histograms)
    if not processes:
        return "generator: not measured (no probe ran)"
    return "generator: " + "; ".join(describe(process) for process in processes)


def health_dict(histograms: Mapping[str, Histogram]) -> list[dict[str, Any]]:
    """The same, as JSON-ready rows (lag P99 in ms, CPU max and median in percent of one core)."""
    return [
        {
            "source": process.source,
            "loop_lag_p99_ms": round(process.lag_p99, 3),
            "loop_lag_max_ms": round(process.lag.max, 3),
            "cpu_max_percent": None if process.cpu_max is None else round(process.cpu_max, 1),
            "cpu_median_percent": None if process.cpu_median is None else round(process.cpu_median, 1),
        }
        for process in per_process(histograms)
    ]
