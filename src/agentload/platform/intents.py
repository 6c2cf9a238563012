"""Keyword intent classifier of the reference platform (pure, deterministic).

The real platform asks an LLM which actions a user message asks for; the reference platform needs
answers of the same shape without a model. A message is split into its requests ("book a table and
order a taxi" -> two), each request is matched against keyword lists, and simple entities (times,
numbers, places, the user's location) are pulled out with regular expressions. Messages with more
requests also take longer to classify (see ``latency.py``), so the split matters for timing too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

FALLBACK_INTENT = "general_question"

# intent type -> keywords (matched on word boundaries, lower case)
INTENT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "book_restaurant": ("book", "table", "restaurant", "reservation", "reserve", "dinner", "lunch"),
    "order_taxi": ("taxi", "cab", "ride", "uber", "lyft", "pick me up"),
    "weather": ("weather", "forecast", "rain", "temperature", "sunny", "snow"),
    "reminder": ("remind", "reminder", "alarm", "don't forget"),
    "calendar": ("meeting", "calendar", "schedule", "appointment"),
    "send_message": ("send", "message", "text", "email", "tell"),
    "play_music": ("play", "music", "song", "playlist"),
    "navigation": ("directions", "navigate", "route", "how do i get"),
    "shopping": ("buy", "purchase", "shop", "cart", "groceries"),
    "search": ("search", "find", "look up", "google", "what is", "who is"),
}

_SPLIT = re.compile(r"\s+and\s+|;|\s+then\s+|\balso\b", re.IGNORECASE)
_TIME = re.compile(r"\b(?:at\s+)?(\d{1,2}(?::\d{2})?\s*(?:am|pm)|\d{1,2}:\d{2})\b", re.IGNORECASE)
_DAY = re.compile(
    r"\b(today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.I
)
_COUNT = re.compile(r"\bfor\s+(\d{1,3})\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:to|in|at|near)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")


@dataclass(frozen=True)
class Intent:
    """One action the user asked for."""

    type: str
    confidence: float
    entities: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Wire shape: ``{"type", "confidence", "entities"}``."""
        return {"type": self.type, "confidence": self.confidence, "entities": self.entities}


def split_requests(text: str) -> list[str]:
    """Split a message into its separate requests on " and ", ";", " then " and "also"."""
    parts = [part.strip(" ,.!?") for part in _SPLIT.split(text)]
    return [part for part in parts if part] or [text.strip()]


def _hits(text: str, keywords: tuple[str, ...]) -> int:
    return sum(1 for word in keywords if re.search(rf"\b{re.escape(word)}\b", text))


def _entities(text: str, location: dict[str, float] | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, pattern in (("time", _TIME), ("day", _DAY), ("party_size", _COUNT), ("place", _PLACE)):
        match = pattern.search(text)
        if match:
            found[key] = int(match.group(1)) if key == "party_size" else match.group(1)
    if location is not None:
        found["location"] = location
    return found


def classify_request(text: str, location: dict[str, float] | None = None) -> Intent:
    """Best-matching intent for one request; ``general_question`` when no keyword matches."""
    lowered = text.lower()
    best, best_hits = FALLBACK_INTENT, 0
    for intent_type, keywords in INTENT_KEYWORDS.items():
        hits = _hits(lowered, keywords)
        if hits > best_hits:
            best, best_hits = intent_type, hits
    confidence = 0.35 if best_hits == 0 else min(0.98, 0.62 + 0.12 * best_hits)
    return Intent(best, round(confidence, 2), _entities(text, location))


def classify(text: str, location: dict[str, float] | None = None) -> list[Intent]:
    """All intents of a message, in the order the user asked for them."""
    return [classify_request(part, location) for part in split_requests(text)]
