"""`AgentSession`: the agent platform as its users live it, one whole session per iteration.

A session is: the message is classified (intent); its plan runs as one step per intent the
platform returned; the streamed answer arrives; then the user asks `follow_ups` more questions,
each sent with the conversation so far, so every turn carries a longer history (and, on a
platform that models prefill, waits longer for its first token). Each part is a journey
(`recording/journeys.py`), the whole session too:

  session            intent + steps + every turn, think time included
  session_plan       the intent and its steps (steps run one after another)
  session_answer     the first streamed answer (turn 1)
  session_follow_up  each follow-up turn

Chat samples carry the label `turn` (1 = the first answer), so TTFT, tokens and inter-token gaps
are recorded per turn as `chat_time_to_first_token{turn:3}` and a budget may name `turn: ">=5"`.
A step answered 202 (accepted, run asynchronously) is complete as far as the reference platform
offers: it has no endpoint to poll, so the session moves on.
"""

from __future__ import annotations

from typing import ClassVar

import gevent
from locust import between, task

from agentload.recording.journeys import journey
from agentload.recording.labels import MAX_TURNS
from agentload.traffic.users import CHAT_METRICS, AgentUser

SESSION = journey("session")
PLAN = journey("session_plan")
ANSWER = journey("session_answer")
FOLLOW_UP = journey("session_follow_up")
JOURNEYS = ("session", "session_plan", "session_answer", "session_follow_up")


class AgentSession(AgentUser):
    """One session per iteration: intent, a step per intent, a streamed answer, then follow-ups."""

    metrics = (*CHAT_METRICS, "intent_inference_latency", "step_execution_latency", *JOURNEYS)
    labels = ("turn",)
    wait_time = between(1, 3)
    """Between sessions."""
    follow_ups: ClassVar[int] = 4
    """Questions after the first answer (turns = 1 + follow_ups, at most MAX_TURNS)."""
    think_time_s: ClassVar[tuple[float, float]] = (0.5, 1.5)
    """The user reads the answer for this long (uniform) before each follow-up."""

    @classmethod
    def check_options(cls) -> str | None:
        """A turn label has MAX_TURNS values at most, so a longer session is refused before load."""
        if isinstance(cls.follow_ups, int) and 0 <= cls.follow_ups < MAX_TURNS:
            return None
        expected = f"a whole number from 0 to {MAX_TURNS - 1}"
        return f"{cls.__name__}.follow_ups must be {expected}, got {cls.follow_ups!r}"

    @task
    def session(self) -> None:
        with SESSION:
            question = self.payloads.pick("multi_intent_requests", self.rng)
            with PLAN:
                self.plan(question)
            history: list[dict[str, str]] = []
            with ANSWER:
                self.turn(question, history, 1)
            for turn in range(2, self.follow_ups + 2):
                gevent.sleep(self.rng.uniform(*self.think_time_s))
                with FOLLOW_UP:
                    self.turn(self.payloads.pick("simple_questions", self.rng), history, turn)

    def plan(self, question: str) -> None:
        """Classify the question, then run one step per intent found."""
        _, intents = self.api.intents(question)
        for _ in intents:
            self.api.step()

    def turn(self, question: str, history: list[dict[str, str]], turn: int) -> None:
        """Ask `question` after `history`, then add both to it (the answer as its token count in words)."""
        sample = self.api.chat(question, history=history, labels={"turn": str(turn)})
        answer = " ".join(["token"] * (sample.output_tokens or 0))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
