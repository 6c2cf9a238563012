"""Which global iterations a process owns is pure arithmetic on its shares; checked here exactly."""

from __future__ import annotations

from agentload.profiles.schedule import ArrivalRate, arrival_to_wire
from agentload.traffic.arrival import Epoch, ShareBook, next_owned

TEN = ArrivalRate(rate=10, duration_s=10, max_concurrency=5)


def owned(epochs: list[Epoch], limit: int = 100) -> list[int]:
    out, cursor = [], 0
    while (hit := next_owned(TEN, epochs, cursor)) is not None and len(out) < limit:
        out.append(hit[0])
        cursor = hit[0] + 1
    return out


def test_two_workers_partition_the_iterations() -> None:
    """Worker 0 of 2 runs the even iterations, worker 1 the odd ones, together all 100."""
    a, b = owned([Epoch(0, 0, 2)]), owned([Epoch(0, 1, 2)])
    assert a == list(range(0, 100, 2)) and b == list(range(1, 100, 2))


def test_a_late_joiner_switches_everyone_at_the_same_instant() -> None:
    """Going from 2 to 3 workers at t=5 s: no iteration is run twice or lost."""
    old = [[Epoch(0, i, 2), Epoch(5.0, i, 3)] for i in range(2)]
    new = [Epoch(5.0, 2, 3)]
    runs = [*map(owned, old), owned(new)]
    flat = sorted(k for r in runs for k in r)
    assert flat == list(range(100))
    assert min(runs[2]) >= 50  # the joiner starts at the switch time


def test_share_book_keeps_its_clock_within_a_run() -> None:
    """A repeated share is ignored; a new run resets the epochs and the clock."""
    book = ShareBook()
    book.apply({"index": 0, "count": 2, "elapsed": 3.0, "run": 1.0})
    origin = book.origin
    book.apply({"index": 0, "count": 2, "elapsed": 9.0, "effective_at": 9.5, "run": 1.0})
    book.apply({"index": 1, "count": 3, "elapsed": 9.0, "effective_at": 9.5, "run": 1.0})
    assert book.origin == origin and book.epochs == [Epoch(0.0, 0, 2), Epoch(9.5, 1, 3)]
    book.apply({"index": 0, "count": 1, "elapsed": 0.0, "run": 2.0})
    assert book.epochs == [Epoch(0.0, 0, 1)] and book.origin > origin


def test_share_book_names_the_arrival_rate_classes_until_reset() -> None:
    """Shares name the classes that run as executors; a reset (test stop) forgets them."""
    book = ShareBook()
    rate = ArrivalRate(rate=5, duration_s=10, max_concurrency=3)
    book.apply({"index": 0, "count": 1, "run": 1.0, "schedules": {"Chat": arrival_to_wire(rate)}})
    assert book.schedules == {"Chat": rate}
    book.reset()
    assert book.schedules == {} and book.epochs == []
