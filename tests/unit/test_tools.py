"""The shared test helpers' own rules: what counts as CI, and that a missing tool fails there."""

from __future__ import annotations

import pytest

from tools import in_ci, require_tool, wait_until


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True), ("TRUE", True), ("1", True), (" true ", True),
        ("", False), ("false", False), ("0", False),
    ],
)
def test_ci_is_detected_as_ci_systems_set_it(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    """CI counts when `CI` is "true" or "1" (any case); empty, "false" and "0" do not."""
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


def test_a_missing_tool_fails_under_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """require_tool fails (naming the tool and its installer) under CI, and skips without CI."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no-such-tool-42 is not installed \(apt-get x\)"):
        require_tool("no-such-tool-42", "apt-get x")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-such-tool-42 is not installed"):
        require_tool("no-such-tool-42", "apt-get x")


def test_wait_until_returns_the_first_truthy_value_or_fails_naming_what() -> None:
    """wait_until gives back the condition's first truthy value, and times out with `what` in the message."""
    answers = iter([None, 0, "ready"])
    assert wait_until(lambda: next(answers), 5, "the third answer", every=0.01) == "ready"
    with pytest.raises(AssertionError, match=r"timed out after 0\.05s waiting for never"):
        wait_until(lambda: False, 0.05, "never", every=0.01)
