"""Bounded model slots and wait queue: how the reference platform saturates like a real one.

An LLM backend serves a fixed number of requests at once; the rest wait in a queue, and a healthy
platform sheds load (fast 429 + Retry-After) once the queue is full instead of letting latency grow
without bound. ``SlotPool`` models exactly that with one asyncio semaphore shared by intent, chat and
step requests. The overload mode decides what happens past the queue: ``shed`` answers 429,
``error`` answers 500 (a platform without load shedding that falls over), ``queue`` never refuses and
lets the queue (and latency) grow without limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Overloaded(Exception):
    """Raised when a request finds every slot busy and the wait queue full."""

    def __init__(self, status: int, message: str, retry_after: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


class SlotPool:
    """``slots`` concurrent requests in service, at most ``queue_limit`` more waiting for a slot."""

    def __init__(self, slots: int, queue_limit: int) -> None:
        self.slots = slots
        self.queue_limit = queue_limit
        self.in_use = 0
        self.waiting = 0
        self._sem = asyncio.Semaphore(slots)

    def _refuse(self, mode: str) -> Overloaded | None:
        must_wait = self._sem.locked() or self.waiting > 0
        if not must_wait or mode == "queue" or self.waiting < self.queue_limit:
            return None
        text = f"overloaded: all {self.slots} slots busy and {self.waiting} requests queued"
        if mode == "error":
            return Overloaded(500, text, None)
        return Overloaded(429, text, 1)

    @asynccontextmanager
    async def slot(self, mode: str = "shed") -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``; raises ``Overloaded`` past the queue."""
        refusal = self._refuse(mode)
        if refusal is not None:
            raise refusal
        self.waiting += 1
        try:
            await self._sem.acquire()
        finally:
            self.waiting -= 1
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            self._sem.release()

    def snapshot(self) -> dict[str, int]:
        """Current occupancy, for health and stats."""
        return {
            "slots": self.slots,
            "in_use": self.in_use,
            "queued": self.waiting,
            "queue_limit": self.queue_limit,
        }
