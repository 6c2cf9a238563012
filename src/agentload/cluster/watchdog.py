"""A worker never outlives its master: when the master goes silent or its connection closes, the
worker stops its users at once and exits with its own code.

Locust's worker waits 60 s without a heartbeat before it quits, and goes on sending load all that
time: a master killed by CI's job timeout, the OOM killer or a node failure leaves a minute of
orphan load on the target. The master answers every worker heartbeat (one a second), so silence for
`--master-timeout` (3 s by default, the figure after which Locust's master calls a worker missing)
means it is frozen, gone or cut off. A closed connection is noticed sooner: ZeroMQ's socket monitor
reports the disconnect, and when no reconnect follows within a second the master is taken as gone.
The worker then logs one line, kills its users (no stop timeout: nobody is left to report to) and
exits with code 4; a backstop ends the process should a clean exit hang.

Silence is counted only while the worker itself could listen. A worker's event loop can stall for
seconds on a loaded machine (Locust rebuilds its whole argument parser for every option of every
spawn message, and a ramp-down sends many): it then neither sends heartbeats nor reads the
replies, and a naive clock would blame the master. The watch loop measures how late it wakes up
and does not count that stall as silence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

import gevent
import zmq.green as zmq
from zmq.utils.monitor import recv_monitor_message

logger = logging.getLogger(__name__)

LOST_MASTER_EXIT = 4
DISCONNECT_GRACE_S = 1.0  # a closed connection that does not come back within this is a lost master
CHECK_EVERY_S = 0.25
STALL_S = 0.5  # a wake-up this much later than asked means this process, not the master, was stuck
HARD_EXIT_AFTER_S = 10.0  # the process ends by then whatever blocks (exit within 15 s of the loss)


def lost_reason(
    now: float, last_heard: float | None, disconnected_since: float | None, timeout_s: float
) -> str | None:
    """Why the master counts as lost at `now`, or None. Silence counts once a heartbeat was heard."""
    if disconnected_since is not None and now - disconnected_since >= min(DISCONNECT_GRACE_S, timeout_s):
        return f"connection closed {now - disconnected_since:.1f}s ago"
    if last_heard is not None and now - last_heard >= timeout_s:
        return f"no heartbeat for {now - last_heard:.1f}s"
    return None


class MasterWatchdog:
    """Watches one worker runner's link to its master; `abandon` is what losing it means."""

    def __init__(self, environment: Any, timeout_s: float, clock: Any = time.monotonic) -> None:
        self.environment = environment
        self.runner = environment.runner
        self.timeout_s = timeout_s
        self.clock = clock
        self.last_heard: float | None = None
        self.disconnected_since: float | None = None
        self.abandoned = False

    def heard(self, **_: Any) -> None:
        self.last_heard = self.clock()

    def check(self) -> bool:
        reason = lost_reason(self.clock(), self.last_heard, self.disconnected_since, self.timeout_s)
        if reason is not None and not self.abandoned:
            self.abandon(reason)
        return self.abandoned

    def abandon(self, reason: str) -> None:
        self.abandoned = True
        runner = self.runner
        users = runner.user_count
        logger.error(
            "lost the master %s:%s (%s): stopped %d users, worker %s exits with code %d",
            runner.master_host,
            runner.master_port,
            reason,
            users,
            runner.client_id,
            LOST_MASTER_EXIT,
        )
        gevent.spawn_later(HARD_EXIT_AFTER_S, os._exit, LOST_MASTER_EXIT)
        self.environment.process_exit_code = LOST_MASTER_EXIT
        self.environment.stop_timeout = 0
        runner.stop()
        with contextlib.suppress(zmq.ZMQError):
            runner.client.socket.setsockopt(zmq.LINGER, 0)  # drop what a dead master will never read
        runner.quit()

    def excuse_stall(self, stalled_s: float) -> None:
        """This process could not listen for `stalled_s` seconds: that is not the master's silence."""
        if self.last_heard is not None:
            self.last_heard += stalled_s
        if self.disconnected_since is not None:
            self.disconnected_since += stalled_s

    def watch_forever(self) -> None:
        while not self.check():
            asleep = self.clock()
            gevent.sleep(CHECK_EVERY_S)
            late = self.clock() - asleep - CHECK_EVERY_S
            if late > STALL_S:
                self.excuse_stall(late)

    def monitor_forever(self) -> None:
        """Follows connect/disconnect events of whichever client socket the runner has now."""
        while not self.abandoned:
            client = self.runner.client
            try:
                monitor = client.socket.get_monitor_socket(zmq.EVENT_CONNECTED | zmq.EVENT_DISCONNECTED)
            except zmq.ZMQError:
                gevent.sleep(CHECK_EVERY_S)
                continue
            try:
                self._follow(monitor, client)
            finally:
                monitor.close(linger=0)

    def _follow(self, monitor: Any, client: Any) -> None:
        while not self.abandoned and self.runner.client is client:
            if not monitor.poll(timeout=int(CHECK_EVERY_S * 1000)):
                continue
            try:
                event = recv_monitor_message(monitor)["event"]
            except zmq.ZMQError:
                return
            if event == zmq.EVENT_DISCONNECTED and self.disconnected_since is None:
                self.disconnected_since = self.clock()
            elif event == zmq.EVENT_CONNECTED:
                self.disconnected_since = None


def install(environment: Any) -> MasterWatchdog:
    watchdog = MasterWatchdog(environment, environment.agentload.settings.master_timeout_s)
    environment.events.heartbeat_received.add_listener(watchdog.heard)
    # In the runner's own group: a normal "quit" from the master ends the watch with the runner.
    environment.runner.greenlet.spawn(watchdog.watch_forever)
    environment.runner.greenlet.spawn(watchdog.monitor_forever)
    return watchdog
