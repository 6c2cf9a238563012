"""Labeled series names: one name per label set, and back again."""

import pytest

from agentload.recording.labels import base, labeled, split
from agentload.recording.metrics import kind_of


def test_labeled_sorts_keys_so_one_label_set_has_one_name() -> None:
    """Keys are sorted, so every process names the same labels the same way."""
    assert labeled("m", {"turn": 5, "source": "w1"}) == "m{source:w1,turn:5}"
    assert labeled("m", {"source": "w1", "turn": 5}) == "m{source:w1,turn:5}"


def test_no_labels_is_the_metric_itself() -> None:
    """The whole series keeps its plain name."""
    assert labeled("m", {}) == "m"
    assert split("m") == ("m", {})


def test_split_inverts_labeled() -> None:
    """split() gives back the metric and the labels as strings."""
    assert split("chat_time_to_first_token{turn:12,user:AgentSession}") == (
        "chat_time_to_first_token",
        {"turn": "12", "user": "AgentSession"},
    )
    assert base("chat_time_to_first_token{turn:12}") == "chat_time_to_first_token"


def test_reserved_characters_are_refused() -> None:
    """A value that would make the name ambiguous is refused, naming the label."""
    with pytest.raises(ValueError, match="turn"):
        labeled("m", {"turn": "a,b"})


def test_a_labeled_series_has_its_metrics_kind() -> None:
    """A labeled counter is still a counter, a labeled duration a duration."""
    assert kind_of("requests{source:w1}") == "count"
    assert kind_of("error_rate{turn:3}") == "rate"
