"""The shipped prompt files and the errors a broken one gives."""

import pytest

from agentload.traffic.payloads import PayloadError, load_payloads, parse_prompts, read_prompts


def test_shipped_prompt_files_load_once() -> None:
    """The package ships non-empty prompt files, and they are loaded once per process."""
    payloads = load_payloads()
    assert payloads is load_payloads()
    assert len(payloads.multi_intent_requests) >= 10
    assert all(" and " in p or ";" in p or " then " in p for p in payloads.multi_intent_requests)


def test_broken_prompt_file_names_file_and_line(tmp_path) -> None:
    """An over-long prompt is rejected with the file and line number."""
    with pytest.raises(PayloadError, match=r"prompts.txt:2: prompt longer"):
        parse_prompts("# header\n" + "x" * 5000, "prompts.txt")


def test_empty_or_missing_prompt_file_is_an_error(tmp_path) -> None:
    """Files with no prompts, or no file at all, give one clear line."""
    empty = tmp_path / "simple_questions.txt"
    empty.write_text("# only a comment\n\n")
    with pytest.raises(PayloadError, match="no prompts"):
        read_prompts(empty)
    with pytest.raises(PayloadError, match="cannot read prompts"):
        read_prompts(tmp_path / "missing.txt")
