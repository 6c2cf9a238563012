"""Realistic request bodies, loaded once per process from the data files shipped in the package.

Prompts are plain text, one per line, `#` for comments, so people can add their own without
touching code. A broken file is a configuration error (exit 2) that names the file and line.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

KINDS = ("simple_questions", "multi_intent_requests", "intent_utterances")
MAX_PROMPT_CHARS = 4000


class PayloadError(ValueError):
    """A data file that cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Payloads:
    simple_questions: tuple[str, ...]
    multi_intent_requests: tuple[str, ...]
    intent_utterances: tuple[str, ...]

    def pick(self, kind: str, rng: random.Random) -> str:
        return rng.choice(getattr(self, kind))


def parse_prompts(text: str, source: str) -> tuple[str, ...]:
    """Non-empty, non-comment lines; at least one; none longer than MAX_PROMPT_CHARS."""
    prompts = []
    for number, line in enumerate(text.splitlines(), start=1):
        prompt = line.strip()
        if not prompt or prompt.startswith("#"):
            continue
        if len(prompt) > MAX_PROMPT_CHARS:
            raise PayloadError(f"{source}:{number}: prompt longer than {MAX_PROMPT_CHARS} characters")
        prompts.append(prompt)
    if not prompts:
        raise PayloadError(f"{source}: no prompts (one per line, # starts a comment)")
    return tuple(prompts)


def read_prompts(path: Path | str) -> tuple[str, ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PayloadError(f"{path}: cannot read prompts ({exc.__class__.__name__}: {exc})") from None
    return parse_prompts(text, str(path))


def check_payloads(directory: str | None = None) -> Payloads:
    """Load the prompts now (before any load starts) so a broken data file is a clean config error.

    Users load their payloads lazily, in `AgentUser.__init__`, where a `PayloadError` is a user
    exception mid-run; the plugin calls this at init and turns the error into exit 2. The result is
    cached, so the users then get the same object for free.
    """
    return load_payloads(directory)


@cache
def load_payloads(directory: str | None = None) -> Payloads:
    """The prompts from `directory` (AGENTLOAD_DATA_DIR), or the files shipped with the package."""
    if directory:
        return Payloads(**{kind: read_prompts(Path(directory) / f"{kind}.txt") for kind in KINDS})
    shipped = resources.files("agentload.traffic") / "data"
    return Payloads(
        **{kind: parse_prompts((shipped / f"{kind}.txt").read_text("utf-8"), f"{kind}.txt") for kind in KINDS}
    )
