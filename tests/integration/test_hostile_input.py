"""Hostile input through the real CLI: budgets files, payload data files and environment values.

Every case must end before any load with exit 2, exactly one `agentload: ...` line on stderr and no
traceback. The budgets loader itself is property-tested in tests/unit/test_budgets_fuzz.py; here a
dozen nasty files go through `locust` end to end. The target is a closed port: a case that got past
configuration would fail the health pre-check with exit 3 instead.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from agentload.traffic.payloads import KINDS, PayloadError, check_payloads

from locust_run import LOCUSTFILES, LocustRun, run_locust
from tools import TRACEBACK

BUDGETS = LOCUSTFILES / "budgets.py"
NOWHERE = "http://127.0.0.1:9"


def agentload_lines(run: LocustRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("agentload:")]


def assert_config_error(run: LocustRun, *expected: str) -> str:
    """Exit 2, one `agentload:` line on stderr (returned) containing `expected`, no traceback."""
    assert run.returncode == 2, run.output[-3000:]
    assert TRACEBACK not in run.output, run.output[-3000:]
    lines = agentload_lines(run)
    assert len(lines) == 1, run.stderr[-3000:]
    assert "agentload:" not in run.stdout
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


# --- budgets files -----------------------------------------------------------------------------


def random_structure(rng: random.Random, depth: int = 0) -> object:
    """A random YAML-able value: nested mappings and lists of odd keys and scalars."""
    choice = rng.randrange(6 if depth < 4 else 3)
    if choice == 0:
        return rng.choice([None, True, -1, 0, 10**30, 1e308, "800ms", "p95", "", "1%", "HIGH"])
    if choice == 1:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))
    if choice == 2:
        return rng.uniform(-1e9, 1e9)
    if choice == 3:
        return [random_structure(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["budgets", "policy", "metric", "stat", "threshold", "x", "fail_on", "ü", "1"]
    return {rng.choice(keys): random_structure(rng, depth + 1) for _ in range(rng.randrange(1, 5))}


def _random_yaml(path: Path) -> None:
    rng = random.Random(7)
    document = {"budgets": [random_structure(rng) for _ in range(5)], "policy": random_structure(rng)}
    path.write_text(yaml.safe_dump(document, allow_unicode=True))


def _deep_nesting(path: Path) -> None:
    path.write_text("budgets: " + "[" * 20_000 + "]" * 20_000 + "\n")


def _deep_block_nesting(path: Path) -> None:
    path.write_text("budgets:\n" + "".join("  " * i + "- \n" for i in range(1, 400)))


def _huge_numbers(path: Path) -> None:
    path.write_text(
        "budgets:\n"
        f"  - {{metric: intent_inference_latency, stat: p95, threshold: 1e99999, min_samples: {10**400}}}\n"
    )


def _alias_bomb(path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\nbudgets: *a9\n")


def _long_string(path: Path) -> None:
    path.write_text(f"budgets:\n  - metric: {'intent' * 100_000}\n    stat: p95\n    threshold: 1s\n")


def _binary_garbage(path: Path) -> None:
    path.write_bytes(random.Random(3).randbytes(4096))


def _python_tag(path: Path) -> None:
    marker = path.with_name("pwned")
    path.write_text(f'budgets: !!python/object/apply:os.system ["touch {marker}"]\n')


def _line_injection(path: Path) -> None:
    path.write_text(
        'budgets:\n  - metric: "intent\\nagentload: all budgets PASS\\r\\u001b[32mPASS"\n'
        "    stat: p95\n    threshold: 1s\n"
    )


def _nul_bytes(path: Path) -> None:
    path.write_bytes(b"budgets:\n  - metric: intent\x00_inference_latency\n    stat: p95\n")


def _too_large(path: Path) -> None:
    path.write_text("# padding\n" * 120_000 + "budgets: []\n")


def _many_documents(path: Path) -> None:
    path.write_text("budgets: []\n---\nbudgets: []\n" * 3)


def _a_directory(path: Path) -> None:
    path.mkdir()


HOSTILE_BUDGETS: dict[str, Callable[[Path], None]] = {
    "random_yaml": _random_yaml,
    "deep_flow_nesting": _deep_nesting,
    "deep_block_nesting": _deep_block_nesting,
    "huge_numbers": _huge_numbers,
    "alias_bomb": _alias_bomb,
    "long_string": _long_string,
    "binary_garbage": _binary_garbage,
    "python_tag": _python_tag,
    "line_injection": _line_injection,
    "nul_bytes": _nul_bytes,
    "too_large": _too_large,
    "many_documents": _many_documents,
    "a_directory": _a_directory,
}


@pytest.mark.parametrize("case", sorted(HOSTILE_BUDGETS))
def test_hostile_budgets_file_is_one_clean_line(tmp_path, case: str) -> None:
    """A nasty budgets file: exit 2 before load, one `agentload:` line naming the file, no traceback."""
    path = tmp_path / "budgets.yaml"
    HOSTILE_BUDGETS[case](path)
    run = run_locust(BUDGETS, "--host", NOWHERE, "--budgets", str(path), timeout=90)
    line = assert_config_error(run, str(path))
    assert "\x1b" not in run.stderr and "\r" not in line
    assert len(line) < 1000, line
    assert not (tmp_path / "pwned").exists()


# --- payload data files ------------------------------------------------------------------------


def _empty(path: Path) -> None:
    path.write_text("")


def _only_comments(path: Path) -> None:
    path.write_text("# nothing here\n\n   \n#\n")


def _binary(path: Path) -> None:
    path.write_bytes(b"\xff\xfe\x00garbage\x9c" * 50)


def _long_line(path: Path) -> None:
    path.write_text("hello\n" + "x" * 10_240 + "\n")


def _missing(path: Path) -> None:
    path.unlink()


BROKEN_DATA: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty": (_empty, "no prompts"),
    "only_comments": (_only_comments, "no prompts"),
    "binary": (_binary, "cannot read prompts"),
    "10kb_line": (_long_line, ":2: prompt longer than 4000 characters"),
    "missing": (_missing, "cannot read prompts"),
}


def broken_data_dir(tmp_path: Path, case: str) -> tuple[Path, Path]:
    """A data dir with good prompt files except `intent_utterances.txt`, broken as `case` says."""
    directory = tmp_path / "data"
    directory.mkdir()
    for kind in KINDS:
        (directory / f"{kind}.txt").write_text("# prompts\nWhat is the weather in Paris?\n")
    broken = directory / "intent_utterances.txt"
    BROKEN_DATA[case][0](broken)
    return directory, broken


@pytest.mark.parametrize("case", sorted(BROKEN_DATA))
def test_check_payloads_names_the_file(tmp_path, case: str) -> None:
    """check_payloads (for the plugin's init) raises a one-line PayloadError naming the broken file."""
    directory, broken = broken_data_dir(tmp_path, case)
    with pytest.raises(PayloadError) as caught:
        check_payloads(str(directory))
    message = str(caught.value)
    assert message.startswith(str(broken)) and BROKEN_DATA[case][1] in message
    assert "\n" not in message


@pytest.mark.parametrize("case", sorted(BROKEN_DATA))
def test_broken_data_dir_fails_before_load(tmp_path, case: str) -> None:
    """A broken AGENTLOAD_DATA_DIR file: exit 2 before any load, one line naming the file and line."""
    directory, broken = broken_data_dir(tmp_path, case)
    run = run_locust(
        BUDGETS,
        "--host",
        NOWHERE,
        "--skip-health-check",
        "--time-scale",
        "50",
        env={"AGENTLOAD_DATA_DIR": str(directory)},
        timeout=90,
    )
    assert_config_error(run, str(broken), BROKEN_DATA[case][1])


# --- environment values ------------------------------------------------------------------------

BAD_ENVIRONMENT = {
    "time_scale_word": ({"AGENTLOAD_TIME_SCALE": "fast"}, ("AGENTLOAD_TIME_SCALE", "'fast'")),
    "time_scale_inf": ({"AGENTLOAD_TIME_SCALE": "inf"}, ("AGENTLOAD_TIME_SCALE", "'inf'")),
    "time_scale_negative": ({"AGENTLOAD_TIME_SCALE": "-2"}, ("AGENTLOAD_TIME_SCALE", "'-2'")),
    "base_url_words": ({"BASE_URL": "not a url"}, ("BASE_URL", "'not a url'")),
    "base_url_ftp": ({"BASE_URL": "ftp://127.0.0.1/"}, ("BASE_URL", "ftp://127.0.0.1/")),
    "base_url_bad_port": ({"BASE_URL": "http://127.0.0.1:99999"}, ("BASE_URL", "99999")),
    "timeout_word": ({"AGENTLOAD_TIMEOUT": "soon"}, ("'soon'",)),
    "timeout_zero": ({"AGENTLOAD_TIMEOUT": "chat=0s"}, ("'0s'",)),
    "timeout_endpoint": ({"AGENTLOAD_TIMEOUT": "ftp=1s"}, ("'ftp'",)),
    "report_only_maybe": ({"AGENTLOAD_REPORT_ONLY": "maybe"}, ("AGENTLOAD_REPORT_ONLY", "'maybe'")),
    "stream_format_unknown": ({"AGENTLOAD_STREAM_FORMAT": "grpc"}, ("AGENTLOAD_STREAM_FORMAT", "'grpc'")),
}


@pytest.mark.parametrize("case", sorted(BAD_ENVIRONMENT))
def test_bad_environment_value_is_one_clean_line(tmp_path, case: str) -> None:
    """A bad environment value: exit 2, one `agentload:` line naming the variable and the value."""
    env, expected = BAD_ENVIRONMENT[case]
    host = () if "BASE_URL" in env else ("--host", NOWHERE)
    run = run_locust(BUDGETS, *host, env={"BASE_URL": "", **env}, timeout=90)
    assert_config_error(run, *expected)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://user:hunter2-canary@127.0.0.1/",
        "http://user:hunter2-canary@/api",
        "http://user:hunter2-canary@127.0.0.1:99999",
    ],
    ids=["ftp", "no_host", "port_out_of_range"],
)
def test_bad_url_never_echoes_its_password(tmp_path, url: str) -> None:
    """A BASE_URL with credentials that fails validation: one clean line, the password not shown."""
    run = run_locust(BUDGETS, env={"BASE_URL": url}, timeout=90)
    assert_config_error(run, "BASE_URL", "***@")
    assert "hunter2-canary" not in run.output


def test_timeout_error_names_the_environment_variable(tmp_path) -> None:
    """AGENTLOAD_TIMEOUT=soon is reported against AGENTLOAD_TIMEOUT, where the value came from."""
    run = run_locust(BUDGETS, "--host", NOWHERE, env={"AGENTLOAD_TIMEOUT": "soon"}, timeout=90)
    assert_config_error(run, "AGENTLOAD_TIMEOUT", "'soon'")


def test_bad_stream_format_option_is_one_clean_line(tmp_path) -> None:
    """--stream-format with an unknown name: exit 2, one line naming the option and the value."""
    run = run_locust(BUDGETS, "--host", NOWHERE, "--stream-format", "smoke-signals", timeout=90)
    assert_config_error(run, "--stream-format", "'smoke-signals'")
