"""The cluster key at the edges: the master admits only workers that prove the key, and merges only
reports whose tag verifies; a worker answers the challenge and tags every report it ships.

Locust's master adds a worker to its clients (so counts it for `--expect-workers` and hands it users)
the moment it says `client_ready`, and merges whatever its `stats` messages carry. With a key set, the
master's message handler is therefore wrapped: a worker's `client_ready` is held back (the master
only acknowledges the connection, so the worker can start its plugin), the worker asks for a
challenge (`agentload_hello`), answers it (`agentload_join`), and only then is its `client_ready`
handed to Locust. Until then, and for ever once refused, every other message from it is dropped, so
none of its samples reach the verdict. Messages are attributed to the connection they arrived on
(ZeroMQ's routing id), never to the sender's claim. A worker's final flush goes through
`send_message`, which is wrapped on the worker to tag it; its periodic report is tagged by a
`report_to_master` listener registered after the one that fills it. Without a key on the master,
the handshake messages are acknowledged and ignored.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust import __version__ as locust_version
from locust.exception import RPCError
from locust.rpc import Message

from agentload.cluster import auth
from agentload.recording.merge import FINAL, REPORT_KEY

logger = logging.getLogger(__name__)

HELLO = "agentload_hello"
CHALLENGE = "agentload_challenge"
JOIN = "agentload_join"
REFUSED = "agentload_refused"
JOIN_DEADLINE_S = 10.0
SIGNED_KINDS = {"stats": "stats", FINAL: "final"}  # message types whose REPORT_KEY payload is tagged
WORKER_REFUSED_EXIT = 2  # a missing or wrong key is a configuration error


@dataclass
class Applicant:
    """A connection that said `client_ready` (or hello) and has not yet proven the key."""

    since: float
    challenge: str = field(default_factory=auth.new_challenge)
    ready: Any = None  # the held-back client_ready message


class Gatekeeper:
    """Wraps the master runner's `handle_message` while a cluster key is set."""

    def __init__(self, environment: Any, key: str, clock: Any = time.monotonic) -> None:
        self.runner = environment.runner
        self.suite = environment.agentload
        self.key = key
        self.clock = clock
        self.locust_handle = self.runner.handle_message
        self.applicants: dict[str, Applicant] = {}
        self.sessions: dict[str, str] = {}  # admitted worker -> the challenge it answered
        self.counters: dict[str, int] = {}
        self.refused: set[str] = set()
        self.impostors: set[str] = set()  # connections that sent a message in another worker's name

    def handle(self, client_id: str, msg: Any) -> None:
        if msg.node_id != client_id:
            if client_id not in self.impostors:
                self.impostors.add(client_id)
                logger.warning("dropped a %s from %s claiming to be %s", msg.type, client_id, msg.node_id)
            return
        if client_id in self.refused:
            return
        if client_id not in self.sessions:
            self._admission(client_id, msg)
        elif self._report_ok(client_id, msg):
            self.locust_handle(client_id, msg)

    def _admission(self, client_id: str, msg: Any) -> None:
        applicant = self.applicants.setdefault(client_id, Applicant(since=self.clock()))
        if msg.type == "client_ready":
            applicant.ready = msg
            self._send("ack", None, client_id)
        elif msg.type == HELLO:
            self._send(CHALLENGE, {"challenge": applicant.challenge}, client_id)
        elif msg.type == JOIN:
            proof = msg.data.get("proof") if isinstance(msg.data, dict) else None
            error = auth.check_join(self.key, applicant.challenge, client_id, proof)
            if error is None:
                self._admit(client_id, applicant)
            else:
                self.refuse(client_id, error)

    def _admit(self, client_id: str, applicant: Applicant) -> None:
        del self.applicants[client_id]
        self.sessions[client_id] = applicant.challenge
        self.counters[client_id] = 0
        logger.info("worker %s proved the cluster key; admitted", client_id)
        self.locust_handle(client_id, applicant.ready or Message("client_ready", locust_version, client_id))

    def _report_ok(self, client_id: str, msg: Any) -> bool:
        kind = SIGNED_KINDS.get(msg.type)
        if kind is None:
            return True
        data = msg.data if isinstance(msg.data, dict) else {}
        if kind == "final" and data.get("client_id") != client_id:
            error: str | None = "final report naming another worker"
        else:
            error = auth.check_report(
                self.key,
                kind,
                client_id,
                self.sessions[client_id],
                data.get(REPORT_KEY),
                data.get(auth.AUTH_KEY),
                self.counters[client_id],
            )
        if error is not None:
            self.refuse(client_id, error)
            return False
        self.counters[client_id] = data[auth.AUTH_KEY]["n"]
        return True

    def refuse(self, client_id: str, reason: str) -> None:
        """One line here, one on the worker; a worker refused mid-run leaves the run incomplete."""
        admitted = self.sessions.pop(client_id, None) is not None
        self.applicants.pop(client_id, None)
        self.refused.add(client_id)
        logger.error("refused worker %s: %s", client_id, reason)
        self._send(REFUSED, {"reason": reason}, client_id)
        self._send("quit", None, client_id)
        if admitted:
            self.suite.aggregate.incomplete.append(f"refused worker {client_id} mid-run: {reason}")
            self.locust_handle(client_id, Message("quit", None, client_id))  # Locust forgets it

    def adopt_early_joiners(self) -> None:
        """Workers Locust took in before this gate stood (the master listens before `init`) must prove
        the key too: they leave Locust's clients and get a challenge. No test runs yet at `init`."""
        for client_id in list(self.runner.clients):
            del self.runner.clients[client_id]
            applicant = self.applicants[client_id] = Applicant(since=self.clock())
            applicant.ready = Message("client_ready", locust_version, client_id)
            self._send(CHALLENGE, {"challenge": applicant.challenge}, client_id)

    def expire(self) -> None:
        now = self.clock()
        for client_id, applicant in list(self.applicants.items()):
            if now - applicant.since > JOIN_DEADLINE_S:
                self.refuse(client_id, f"no proof of the cluster key within {JOIN_DEADLINE_S:.0f}s")

    def expire_forever(self) -> None:
        while True:
            gevent.sleep(1.0)
            self.expire()

    def _send(self, msg_type: str, data: Any, client_id: str) -> None:
        try:
            self.runner.server.send_to_client(Message(msg_type, data, client_id))
        except RPCError as exc:
            logger.warning("could not send %s to worker %s: %s", msg_type, client_id, exc)


def install_master(environment: Any) -> None:
    runner = environment.runner
    key = environment.agentload.settings.cluster_key
    for msg_type in (HELLO, JOIN):  # without a key, or a repeated answer after admission: nothing to do
        runner.register_message(msg_type, lambda **_: None)
    if key is None:
        return
    gate = Gatekeeper(environment, key)
    runner.handle_message = gate.handle  # the instance attribute shadows MasterRunner.handle_message
    gate.adopt_early_joiners()
    runner.greenlet.spawn(gate.expire_forever)
    logger.info("cluster key set: workers must prove it to join")


class Signer:
    """Tags a worker's reports with the key, its session (the challenge) and a rising counter."""

    def __init__(self, key: str | None, worker_id: str) -> None:
        self.key = key
        self.worker_id = worker_id
        self.session = ""
        self.counter = 0

    def seal(self, kind: str, data: dict[str, Any]) -> None:
        if self.key is None or REPORT_KEY not in data:
            return
        self.counter += 1
        envelope = auth.Envelope(kind, self.worker_id, self.session, self.counter)
        data[auth.AUTH_KEY] = auth.report_tag(self.key, envelope, data[REPORT_KEY])


def install_worker(environment: Any) -> None:
    runner = environment.runner
    key = environment.agentload.settings.cluster_key
    signer = Signer(key, runner.client_id)
    send = runner.send_message

    def on_challenge(environment: Any, msg: Any, **_: Any) -> None:
        signer.session = str(msg.data["challenge"])
        proof = auth.join_proof(key, signer.session, runner.client_id) if key is not None else None
        send(JOIN, {"proof": proof})

    def on_refused(environment: Any, msg: Any, **_: Any) -> None:
        logger.error("the master refused this worker (%s): %s", runner.client_id, msg.data.get("reason"))
        environment.process_exit_code = WORKER_REFUSED_EXIT
        gevent.spawn(runner.quit)

    def send_sealed(msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        if msg_type == FINAL and isinstance(data, dict):
            signer.seal("final", data)
        send(msg_type, data, client_id)

    runner.register_message(CHALLENGE, on_challenge)
    runner.register_message(REFUSED, on_refused)
    environment.events.report_to_master.add_listener(lambda data, **_: signer.seal("stats", data))
    runner.send_message = send_sealed  # the instance attribute shadows WorkerRunner.send_message
    send(HELLO, {"version": 1})
