"""A delivery's fate, with in-memory stand-ins for our own ports (the attempt counter) and
for the message in hand: what each settlement does, and in what order."""

import asyncio
from typing import Any

from promotion_service.config import Settings
from promotion_service.consumer.attempts import AttemptCount
from promotion_service.consumer.delivery import Deliveries
from promotion_service.consumer.metrics import ConsumerMetrics
from tests.unit.held_message import HeldMessage


class RecordingAttempts:
    """The delivery counter's interface, in memory; every call lands in `calls`."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls
        self.attempts = 0
        self.handed_back = 0

    async def count(self, key: str) -> AttemptCount:
        self.calls.append(f"count {key}")
        self.attempts += 1
        return AttemptCount(attempt=self.attempts - self.handed_back, handed_back=self.handed_back)

    async def hand_back(self, key: str) -> None:
        self.calls.append(f"hand_back {key}")
        self.handed_back += 1

    async def forget(self, key: str) -> None:
        self.calls.append(f"forget {key}")


def deliveries(calls: list[str], metrics: ConsumerMetrics | None = None) -> Deliveries:
    settings = Settings(retry_base_delay_seconds=0, retry_max_delay_seconds=0)
    return Deliveries(
        settings=settings,
        attempts=RecordingAttempts(calls),  # type: ignore[arg-type]
        metrics=metrics or ConsumerMetrics(),
        stopping=asyncio.Event(),
    )


def held(calls: list[str]) -> Any:
    return HeldMessage(calls)


async def test_an_uncounted_delivery_is_acknowledged_without_touching_the_counter() -> None:
    calls: list[str] = []
    delivery = deliveries(calls).of(held(calls))

    assert await delivery.ack()

    assert calls == ["ack"]  # the fast path: no bookkeeping at all


async def test_a_counted_delivery_forgets_its_counter_once_acknowledged() -> None:
    calls: list[str] = []
    delivery = deliveries(calls).of(held(calls))

    assert await delivery.count() == 1
    assert await delivery.ack()

    assert calls == ["count id:evt-1", "ack", "forget id:evt-1"]


async def test_waiting_for_the_database_records_the_hand_back_before_handing_back() -> None:
    calls: list[str] = []
    delivery = deliveries(calls).of(held(calls))
    await delivery.count()

    await delivery.wait_for_database("ServerSelectionTimeoutError at db.py:1")

    assert calls == ["count id:evt-1", "hand_back id:evt-1", "nack requeue=True"]


async def test_a_delivery_that_never_got_counted_waits_without_a_hand_back_record() -> None:
    calls: list[str] = []
    delivery = deliveries(calls).of(held(calls))

    await delivery.wait_for_database("ServerSelectionTimeoutError at db.py:1")

    assert calls == ["nack requeue=True"]


async def test_dead_lettering_rejects_without_requeue_and_counts_the_reason() -> None:
    calls: list[str] = []
    metrics = ConsumerMetrics()
    delivery = deliveries(calls, metrics).of(held(calls))
    await delivery.count()

    await delivery.dead_letter("attempts_exhausted", "gave up")

    assert calls == ["count id:evt-1", "reject requeue=False", "forget id:evt-1"]
    assert metrics.dead_lettered.labels(reason="attempts_exhausted")._value.get() == 1


async def test_retrying_later_requeues_and_the_next_delivery_counts_as_the_next_attempt() -> None:
    calls: list[str] = []
    shared = deliveries(calls)
    first = shared.of(held(calls))
    await first.count()

    await first.retry_later("RuntimeError at grant.py:1")
    second = shared.of(held(calls))

    assert await second.count() == 2
    assert calls[1] == "nack requeue=True"
