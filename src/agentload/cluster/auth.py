"""The cluster key's pure functions: a join proof and report tags, both HMAC-SHA256.

A worker proves it holds the key by answering the master's random challenge with
HMAC(key, "join" | challenge | worker id); the key itself never travels. Every histogram report it
then ships carries HMAC(key, canonical encoding of {type, worker, session, counter, payload}),
where the session is the master's challenge (a report from another run never verifies) and the
counter rises with every report (a replayed report within the run is refused). The encoding is
canonical JSON (sorted keys, no spaces), which the msgpack round trip between processes preserves:
strings, integers, floats and lists come out as they went in. The functions return an error
sentence or None, so callers log it and decide; nothing here reads the environment or the network.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

AUTH_KEY = "agentload_auth"  # the field of a signed message that carries {"n": counter, "tag": hex}
_JOIN = b"agentload-join-v1\x00"
_REPORT = b"agentload-report-v1\x00"


def new_challenge() -> str:
    """32 random bytes, hex: a fresh one for every worker that asks to join."""
    return secrets.token_hex(32)


def _mac(key: str, message: bytes) -> str:
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def join_proof(key: str, challenge: str, worker_id: str) -> str:
    """What a worker answers to a challenge: it shows the key without sending it."""
    return _mac(key, _JOIN + json.dumps([challenge, worker_id]).encode())


def check_join(key: str, challenge: str, worker_id: str, proof: Any) -> str | None:
    """None when `proof` answers `challenge` for `worker_id` under `key`, else why not."""
    if not isinstance(proof, str) or not proof:
        return "it holds no cluster key (AGENTLOAD_CLUSTER_KEY is unset on the worker)"
    if not hmac.compare_digest(proof, join_proof(key, challenge, worker_id)):
        return "wrong cluster key"
    return None


def canonical(value: Any) -> bytes:
    """One byte string per value: JSON with sorted keys and no whitespace (tuples become lists)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Envelope:
    """What a report tag covers besides the payload: its message type, sender, session and counter."""

    kind: str
    worker_id: str
    session: str
    counter: int

    def encode(self, payload: Any) -> bytes:
        head = {"kind": self.kind, "worker": self.worker_id, "session": self.session, "n": self.counter}
        return _REPORT + canonical({"head": head, "payload": payload})


def report_tag(key: str, envelope: Envelope, payload: Any) -> dict[str, Any]:
    """The `agentload_auth` field for one report."""
    return {"n": envelope.counter, "tag": _mac(key, envelope.encode(payload))}


def check_report(
    key: str, kind: str, worker_id: str, session: str, payload: Any, auth: Any, last_counter: int
) -> str | None:
    """None when `auth` is a valid tag for this report with a counter above `last_counter`, else why not."""
    shaped = isinstance(auth, Mapping) and isinstance(auth.get("n"), int) and isinstance(auth.get("tag"), str)
    if not shaped:
        return f"{kind} report without a cluster key tag"
    envelope = Envelope(kind, worker_id, session, auth["n"])
    try:
        expected = _mac(key, envelope.encode(payload))
    except (TypeError, ValueError):
        return f"{kind} report that cannot be encoded"
    if not hmac.compare_digest(auth["tag"], expected):
        return f"{kind} report with a bad cluster key tag"
    if auth["n"] <= last_counter:
        return f"replayed {kind} report (counter {auth['n']} after {last_counter})"
    return None
