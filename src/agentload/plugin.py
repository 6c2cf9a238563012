"""The one module that wires Locust's events to agentload's parts; importing it registers them.

Locustfiles import it right after `locust`. Everything it registers is a thin adapter: options go
to `settings`, request events become samples in the process's `Recorder`, worker reports carry
deltas to the master's `Aggregate`, and at quit the gate turns the snapshot into the verdict and
the exit code (which wins over Locust's own "any failure means exit 1").
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from typing import Any

from locust import events
from locust.runners import STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner

from agentload import cluster, gate, profiles, reachability
from agentload.budgets import BudgetError, load_budgets
from agentload.budgets.part import recording_plan
from agentload.integrations import influx, webui
from agentload.profiles import capacity_pace, stages
from agentload.profiles.capacity_run import CapacityShape
from agentload.recording import generator, journeys, merge, metrics, windows
from agentload.recording.labels import MAX_VALUES, UNBOUNDED, declare_label, labeled
from agentload.recording.samples import record_sample
from agentload.run_context import RunContext
from agentload.settings import SettingsError, load, load_capacity, redact_url
from agentload.traffic import collector
from agentload.traffic.arrival import ITERATION_EVENTS, iteration_event
from agentload.traffic.classify import event_sample
from agentload.traffic.payloads import PayloadError, check_payloads
from agentload.traffic.streams import FORMATS
from agentload.traffic.user_label import user_class_name

logger = logging.getLogger(__name__)


CAPACITY_OPTIONS = (
    ("--capacity-scenario", "whose arrival rate to sweep: intent, step, chat or load_mix (default)"),
    ("--capacity-target", "requests/s the capacity must reach for exit 0 (default: none)"),
    ("--capacity-start", "first step's rate per s (default 10)"),
    ("--capacity-tolerance", "stop bisecting when held and broken rates are this close (default 0.05)"),
    ("--capacity-max-concurrency", "iterations in flight before one is dropped (default 500)"),
)


@events.init_command_line_parser.add_listener
def add_options(parser: Any) -> None:
    parser.add_argument("--budgets", default="budgets.yaml", help="budgets file (default: budgets.yaml)")
    parser.add_argument(
        "--time-scale", default=None, help="divide every profile duration by F (env AGENTLOAD_TIME_SCALE)"
    )
    parser.add_argument(
        "--report-only", action="store_true", default=False, help="print the verdict but exit 0 (baselining)"
    )
    parser.add_argument(
        "--report-json", default=None, include_in_web_ui=False, help="write the JSON report here"
    )
    parser.add_argument(
        "--report-junit", default=None, include_in_web_ui=False, help="write a JUnit XML file here"
    )
    parser.add_argument(
        "--baseline", default=None, include_in_web_ui=False, help="earlier JSON report to compare against"
    )
    parser.add_argument(
        "--request-timeout",
        default=None,
        include_in_web_ui=False,
        help="per-request deadline: 10s, or per endpoint chat=30s,intent=5s (env AGENTLOAD_TIMEOUT)",
    )
    parser.add_argument(
        "--skip-health-check",
        action="store_true",
        default=False,
        include_in_web_ui=False,
        help="do not check GET /api/health before load starts",
    )
    parser.add_argument(
        "--master-timeout",
        default=None,
        include_in_web_ui=False,
        help="a worker stops its users and exits (code 4) after this long without its master "
        "(default 3s; env AGENTLOAD_MASTER_TIMEOUT)",
    )
    parser.add_argument(
        "--stream-format",
        default=None,
        help="chat stream format: auto (default, from each response) or one of "
        f"{', '.join(FORMATS)} (env AGENTLOAD_STREAM_FORMAT)",
    )
    for flag, text in CAPACITY_OPTIONS:  # locustfiles/capacity.py
        parser.add_argument(flag, default=None, include_in_web_ui=False, help=text)
    influx.add_influx_options(parser)
    # The web UI binds to loopback unless told otherwise (--web-host 0.0.0.0, with --web-login).
    parser.set_defaults(web_host="127.0.0.1")


def config_error(message: str) -> None:
    """A user mistake: one line, no traceback, exit code 2."""
    sys.stderr.write(f"agentload: {message}\n")
    sys.exit(2)


@events.init.add_listener
def on_init(environment: Any, runner: Any = None, **_: Any) -> None:
    try:
        settings = load(environment.parsed_options, environment.host)
    except SettingsError as exc:
        config_error(str(exc))
    run = RunContext(settings=settings)
    try:
        check_payloads(run.data_dir)
    except PayloadError as exc:
        config_error(str(exc))
    _declare_user_label(environment)
    if not isinstance(runner, WorkerRunner):
        try:
            run.budget_file = load_budgets(settings.budgets_path)
            metrics.declare_all(run.budget_file.metrics)
            run.baseline = gate.read_baseline(settings.baseline)
        except (BudgetError, SettingsError) as exc:
            config_error(str(exc))
        _share_plan(environment, run)
    environment.agentload = run
    _check_capacity(environment, runner)
    _check_user_options(environment)
    metrics.bind(run.recorder)
    cluster.install_master(environment)
    try:
        influx.install(environment)  # None when disabled
    except SettingsError as exc:
        config_error(str(exc))
    if not isinstance(runner, WorkerRunner):
        _watch_signals(environment, run)
        _hide_credentials(environment)
    if not isinstance(runner, WorkerRunner) and not settings.skip_health_check:
        _check_reachable(environment, run)
    environment.events.request.add_listener(_recorder_listener(run))
    environment.events.test_start.add_listener(_on_test_start)
    environment.events.test_stop.add_listener(_on_test_stop)
    _count_iterations(environment, run)
    try:
        profiles.install(environment)
    except RuntimeError as exc:
        config_error(str(exc))
    stages.install(environment)
    if not isinstance(runner, MasterRunner):  # every process that sends load
        generator.install(environment, enabled=settings.generator_probe)
        collector.install(environment, enabled=settings.gc_tuning)
    if isinstance(runner, WorkerRunner):
        merge.install_worker(environment)
    elif isinstance(runner, MasterRunner):
        merge.install_master(environment)
    else:
        merge.install_local(environment)
    cluster.install_worker(environment)
    webui.install(environment)


def _declare_user_label(environment: Any) -> None:
    """The `user` label takes the user classes' names; past the label bound a budget naming it is refused."""
    names = {user_class.__name__ for user_class in environment.user_classes or ()}
    try:
        declare_label("user", names)
    except ValueError:
        UNBOUNDED["user"] = f"{len(names)} user classes, a label takes at most {MAX_VALUES} values"


def _share_plan(environment: Any, run: RunContext) -> None:
    """What the budgets ask every process to record; workers get it with the master's options."""
    run.plan = recording_plan(run.budget_file)
    if environment.parsed_options is not None:
        setattr(environment.parsed_options, windows.PLAN_OPTION, run.plan.to_option())


def _check_capacity(environment: Any, runner: Any) -> None:
    """A capacity sweep: its options are checked before any load, and its pace reaches every process."""
    if not isinstance(environment.shape_class, CapacityShape):
        return
    try:
        load_capacity(environment.parsed_options)
    except SettingsError as exc:
        config_error(str(exc))
    capacity_pace.install(environment)


def _check_user_options(environment: Any) -> None:
    """A user class may refuse its own settings before any load (`check_options`, e.g. AgentSession)."""
    for user_class in environment.user_classes or ():
        check = getattr(user_class, "check_options", None)
        problem = check() if check is not None else None
        if problem:
            config_error(problem)


def _check_reachable(environment: Any, run: RunContext) -> None:
    """Headless runs against an unreachable target end here: exit 3, reports still written."""
    reason = reachability.probe(run.settings.base_url)
    if reason is None:
        return
    message = reachability.unreachable_message(run.settings.base_url, reason)
    headless = bool(getattr(environment.parsed_options, "headless", False))
    if not headless:
        logger.warning(message)
        return
    sys.stderr.write(f"agentload: {message}\n")
    run.aggregate.incomplete.append(message)
    conclusion = gate.conclude(run, environment)
    gate.print_summary(conclusion.summary)
    sys.exit(conclusion.exit_code)


def _watch_signals(environment: Any, run: RunContext) -> None:
    """SIGTERM and SIGINT during a shape run end the run the normal way, remembered as interrupted.

    Headless Locust blocks in `start_shape()` ... `shape_greenlet.join()` for the whole profile and
    installs its SIGTERM handler only after it, so until then SIGTERM kills the process with no
    report; Ctrl+C there is caught by Locust as "Shape test completed", so at `quitting` the runner
    is already stopped and the run looked complete. Killing the shape greenlet lets Locust stop the
    users, write its HTML report and fire `quitting` as after a normal end. Without a running shape
    the signal keeps Locust's meaning (KeyboardInterrupt); Locust's own SIGTERM handler replaces
    this one once the shape has returned.
    """
    if environment.shape_class is None:
        return

    def on_signal(signum: int, _frame: Any) -> None:
        runner = environment.runner
        shape = getattr(runner, "shape_greenlet", None)
        if shape is None or shape.dead:
            raise KeyboardInterrupt
        if run.interrupted is None and runner.state in (STATE_RUNNING, STATE_SPAWNING):
            run.interrupted = signal.Signals(signum).name
        shape.kill(block=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _hide_credentials(environment: Any) -> None:
    """Locust's HTML report prints `environment.host`: show it without `user:password@` once load stops.

    The users need the real URL (FastHttpSession turns its credentials into a Basic Authorization
    header), so it is put back when a new test starts (web UI), before users or workers get it.
    """
    real = environment.host
    if not real or redact_url(real) == real:
        return
    shown = redact_url(real)

    def hide(**_: Any) -> None:
        if environment.host == real:
            environment.host = shown

    def restore(**_: Any) -> None:
        if environment.host == shown:
            environment.host = real

    environment.events.test_stop.add_listener(hide)
    environment.events.test_start.add_listener(restore)


def _recorder_listener(run: RunContext) -> Any:
    """Every request event becomes a sample: the suite's users attach theirs, others get one made."""
    recorder = run.recorder

    def on_request(
        name: str = "",
        response_time: float = 0.0,
        exception: BaseException | None = None,
        context: dict[str, Any] | None = None,
        response: Any = None,
        **_: Any,
    ) -> None:
        sample = context.get("agentload") if context else None
        if sample is None:
            sample = event_sample(name, response_time, exception, response)
        if run.plan.labels:  # only what a budget names: `user` costs a labeled series per sample
            user = user_class_name()
            if user is not None:
                sample.labels = {**(sample.labels or {}), "user": user}
        record_sample(recorder, sample)
        journeys.note_request(sample.outcome == "ok", sample.latency_ms, sample.trace_id)

    return on_request


def _count_iterations(environment: Any, run: RunContext) -> None:
    """The arrival-rate executor announces started and dropped iterations through these events.

    A `reason` (why an iteration was dropped) is also counted as the labeled series
    `dropped_iterations{reason:...}`, beside the whole counter.
    """
    recorder = run.recorder

    def count(counter: str, cause: str = "", **_: Any) -> None:
        recorder.count(counter)
        if cause:  # beside the whole counter, as every labeled series (the gate reads it)
            recorder.count(labeled(counter, {"cause": cause}))

    for event, counter in zip(ITERATION_EVENTS, ("iterations", "dropped_iterations"), strict=True):
        iteration_event(environment, event).add_listener(lambda counter=counter, **kw: count(counter, **kw))


def _on_test_start(environment: Any, **_: Any) -> None:
    run: RunContext = environment.agentload
    if isinstance(environment.runner, WorkerRunner):
        # The master's custom options (time scale, timeouts, the plan) and host arrive with the spawn message.
        run.settings = load(environment.parsed_options, environment.host)
        shared = getattr(environment.parsed_options, windows.PLAN_OPTION, None)
        run.plan = windows.RecordingPlan.from_option(shared)
    run.recorder.drain()
    run.aggregate = type(run.aggregate)()
    run.started_at = time.time()
    run.window_timer = windows.follow(run.recorder, run.plan.windows, run.settings.time_scale)


def _on_test_stop(environment: Any, **_: Any) -> None:
    run: RunContext = environment.agentload
    if run.window_timer is not None:
        run.window_timer.kill(block=False)
        run.window_timer = None


@events.quitting.add_listener
def on_quitting(environment: Any, **_: Any) -> None:
    run: RunContext | None = getattr(environment, "agentload", None)
    if run is None or isinstance(environment.runner, WorkerRunner) or run.budget_file is None:
        return
    listener = getattr(environment, "agentload_influx", None)
    if listener is not None:
        listener.report_summary()
    runner = environment.runner
    if runner is not None and (runner.state in (STATE_RUNNING, STATE_SPAWNING) or run.interrupted):
        _stop_interrupted_run(environment, run)
    conclusion = gate.conclude(run, environment)
    environment.process_exit_code = conclusion.exit_code
    environment.events.quit.add_listener(lambda **_: gate.print_summary(conclusion.summary))


def _stop_interrupted_run(environment: Any, run: RunContext) -> None:
    """SIGTERM/SIGINT mid-run: stop the users (workers flush), note it, keep Locust's HTML report."""
    elapsed = time.time() - run.started_at if run.started_at else 0.0
    environment.runner.stop()
    by = f" by {run.interrupted}" if run.interrupted else ""
    run.aggregate.incomplete.append(f"interrupted{by} at t={elapsed:.0f}s before the profile finished")
    html_file = getattr(environment.parsed_options, "html_file", None)
    if html_file:
        gate.save_locust_html(environment, html_file)
