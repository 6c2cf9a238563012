"""The cluster key's pure functions: join proofs and report tags, their failures, and replay."""

import msgpack
import pytest

from agentload.cluster import auth
from agentload.recording.recorder import Recorder

KEY = "k" * 32
WORKER = "host_0123456789abcdef"


def payload() -> dict:
    recorder = Recorder()
    for value in (12.5, 40.0, 1234.567):
        recorder.observe("intent_inference_latency", value)
    recorder.count("requests", 3)
    recorder.error("http 500")
    return recorder.drain()


def over_the_wire(value):
    """The msgpack round trip a Locust message takes between processes."""
    return msgpack.loads(msgpack.dumps(value), raw=False, strict_map_key=False)


def signed(counter: int = 1, session: str = "c" * 64, kind: str = "stats") -> tuple[dict, dict]:
    data = payload()
    return data, auth.report_tag(KEY, auth.Envelope(kind, WORKER, session, counter), data)


def test_join_proof_verifies_only_with_the_same_key_challenge_and_worker() -> None:
    """A proof checks out for its own key, challenge and worker id, and for nothing else."""
    challenge = auth.new_challenge()
    proof = auth.join_proof(KEY, challenge, WORKER)
    assert auth.check_join(KEY, challenge, WORKER, proof) is None
    assert auth.check_join("x" * 32, challenge, WORKER, proof) == "wrong cluster key"
    assert auth.check_join(KEY, auth.new_challenge(), WORKER, proof) == "wrong cluster key"
    assert auth.check_join(KEY, challenge, "other_worker", proof) == "wrong cluster key"
    assert KEY not in proof


@pytest.mark.parametrize("proof", [None, "", 42, ["x"]])
def test_join_without_a_key_names_the_missing_variable(proof) -> None:
    """A worker that sends no proof is told the key is unset, in one sentence."""
    assert auth.check_join(KEY, "c", WORKER, proof) == (
        "it holds no cluster key (AGENTLOAD_CLUSTER_KEY is unset on the worker)"
    )


def test_challenges_are_fresh() -> None:
    """Every challenge is 32 random bytes, never repeated."""
    challenges = {auth.new_challenge() for _ in range(100)}
    assert len(challenges) == 100 and all(len(c) == 64 for c in challenges)


def test_report_tag_survives_the_msgpack_round_trip() -> None:
    """A tag made on the worker verifies on the master after msgpack encoding and decoding."""
    data, tag = signed()
    wire_data, wire_tag = over_the_wire(data), over_the_wire(tag)
    assert auth.check_report(KEY, "stats", WORKER, "c" * 64, wire_data, wire_tag, 0) is None


def test_tampered_report_fails() -> None:
    """Changing one count in the payload breaks the tag."""
    data, tag = signed()
    (slots,) = data.values()
    (delta,) = slots.values()
    delta["c"]["requests"] = 3000
    assert auth.check_report(KEY, "stats", WORKER, "c" * 64, data, tag, 0) == (
        "stats report with a bad cluster key tag"
    )


@pytest.mark.parametrize(
    ("kind", "worker", "session", "key"),
    [
        ("final", WORKER, "c" * 64, KEY),
        ("stats", "another_worker", "c" * 64, KEY),
        ("stats", WORKER, "d" * 64, KEY),
        ("stats", WORKER, "c" * 64, "y" * 32),
    ],
)
def test_tag_is_bound_to_kind_worker_session_and_key(kind, worker, session, key) -> None:
    """A tag moved to another message type, worker, session (run) or key does not verify."""
    data, tag = signed()
    assert (
        auth.check_report(key, kind, worker, session, data, tag, 0)
        == f"{kind} report with a bad cluster key tag"
    )


def test_replayed_report_is_refused() -> None:
    """A valid tag whose counter is not above the last one accepted is a replay."""
    data, tag = signed(counter=5)
    assert auth.check_report(KEY, "stats", WORKER, "c" * 64, data, tag, 4) is None
    assert auth.check_report(KEY, "stats", WORKER, "c" * 64, data, tag, 5) == (
        "replayed stats report (counter 5 after 5)"
    )


@pytest.mark.parametrize("tag", [None, {}, {"n": "1", "tag": "ab"}, {"n": 1}, "tag"])
def test_missing_or_malformed_tag_fails(tag) -> None:
    """A report without a well-formed tag is refused, not crashed on."""
    assert (
        auth.check_report(KEY, "stats", WORKER, "c", payload(), tag, 0)
        == "stats report without a cluster key tag"
    )


def test_canonical_encoding_ignores_key_order_and_tuple_lists() -> None:
    """The same content always gives the same bytes, whatever the dict order or sequence type."""
    assert auth.canonical({"b": [1, (2, 3)], "a": 1.5}) == auth.canonical({"a": 1.5, "b": [1, [2, 3]]})
    assert auth.canonical({"a": 1}) != auth.canonical({"a": 1.0})
