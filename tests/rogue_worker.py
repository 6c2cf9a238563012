"""A hostile process for the cluster-key tests: it speaks Locust's worker protocol by hand.

Mode `forge`: it joins with a wrong key, then ships fabricated agentload reports (1,000 intent
samples of 1 ms each, tagged with its wrong key), a fabricated final flush and reports that claim to
come from another worker, for SECONDS. Mode `tamper`: it joins with the right key, waits for its
first spawn message, ships one honest report (7 requests) and then a report of 1,000 requests
carrying the tag of another payload. Every message type it receives is printed, one per line.
Usage: python rogue_worker.py HOST PORT WORKER_ID KEY SECONDS forge|tamper
"""

from __future__ import annotations

import sys
import time

import zmq
from locust import __version__
from locust.rpc import Message

from agentload.cluster import auth
from agentload.recording.merge import FINAL, REPORT_KEY
from agentload.recording.recorder import Recorder


def fabricated(n: int = 1000) -> dict:
    recorder = Recorder()
    for _ in range(n):
        recorder.observe("intent_inference_latency", 1.0)
    recorder.count("requests", n)
    return recorder.drain()


def main() -> None:
    host, port, worker_id, key, seconds, mode = sys.argv[1:7]
    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, worker_id.encode())
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://{host}:{port}")

    def send(msg_type: str, data: object, node_id: str = worker_id) -> None:
        sock.send(Message(msg_type, data, node_id).serialize())

    send("client_ready", __version__)
    send("agentload_hello", {"version": 1})
    session, counter = "", 0
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        while sock.poll(100):
            msg = Message.unserialize(sock.recv())
            print(msg.type, flush=True)
            if msg.type == "agentload_challenge":
                session = msg.data["challenge"]
                send("agentload_join", {"proof": auth.join_proof(key, session, worker_id)})
            elif msg.type == "spawn" and mode == "tamper" and counter == 0:
                for payload, signed in ((fabricated(7), fabricated(7)), (fabricated(1000), fabricated(7))):
                    counter += 1
                    tag = auth.report_tag(key, auth.Envelope("stats", worker_id, session, counter), signed)
                    send("stats", {REPORT_KEY: payload, auth.AUTH_KEY: tag, "user_classes_count": {}})
        if mode == "forge":
            counter += 1
            payload = fabricated()
            tag = auth.report_tag(key, auth.Envelope("stats", worker_id, session, counter), payload)
            send("stats", {REPORT_KEY: payload, auth.AUTH_KEY: tag, "user_classes_count": {}})
            send(FINAL, {"client_id": worker_id, REPORT_KEY: fabricated()})
            send("stats", {REPORT_KEY: fabricated()}, node_id="someone_else")
        time.sleep(0.4)
    sock.close()
    context.term()


if __name__ == "__main__":
    main()
