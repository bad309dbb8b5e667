"""Several relays share one outbox through leases (real MongoDB, an in-memory publisher port)."""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from login_service.metrics import ServiceMetrics
from login_service.outbox.publisher import OutgoingMessage
from login_service.outbox.relay import OutboxRelay

pytestmark = pytest.mark.integration


class RecordingPublisher:
    """Our EventPublisher port, recording what it was asked to publish."""

    def __init__(self, delay: float = 0.0) -> None:
        self.published: list[str] = []
        self.delay = delay

    async def publish(self, message: OutgoingMessage) -> None:
        await asyncio.sleep(self.delay)
        self.published.append(message.message_id)

    async def check(self) -> None:
        return None

    async def close(self) -> None:
        return None


def _event(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    event_id = str(uuid.uuid4())
    document = {
        "_id": event_id,
        "type": "account.first_login",
        "version": 1,
        "routing_key": "account.first_login.v1",
        "body": {"event_id": event_id},
        "correlation_id": None,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
    }
    document.update(overrides)
    return document


async def test_two_relays_draining_one_outbox_publish_each_event_once(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    outbox = mongo[database_name]["outbox"]
    events = [_event() for _ in range(20)]
    await outbox.insert_many(events)
    publishers = [RecordingPublisher(delay=0.01), RecordingPublisher(delay=0.01)]
    relays = [OutboxRelay(outbox, publisher, metrics=ServiceMetrics()) for publisher in publishers]

    await asyncio.gather(*(relay.relay_pending() for relay in relays))

    published = publishers[0].published + publishers[1].published
    assert sorted(published) == sorted(event["_id"] for event in events)
    assert await outbox.count_documents({"status": "sent"}) == 20


async def test_an_expired_lease_is_reclaimed_and_a_live_one_is_not(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    outbox = mongo[database_name]["outbox"]
    now = datetime.now(UTC)
    expired = _event(lease_owner="crashed-worker", lease_until=now - timedelta(seconds=1))
    live = _event(lease_owner="busy-worker", lease_until=now + timedelta(seconds=60))
    await outbox.insert_many([expired, live])
    publisher = RecordingPublisher()

    published, _ = await OutboxRelay(outbox, publisher, metrics=ServiceMetrics()).relay_pending()

    assert published == 1
    assert publisher.published == [expired["_id"]]
    still_leased = await outbox.find_one({"_id": live["_id"]})
    assert still_leased is not None
    assert still_leased["status"] == "pending"


async def test_a_failed_publish_is_retried_after_a_backoff(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    outbox = mongo[database_name]["outbox"]
    await outbox.insert_one(_event())

    class FailingOnce(RecordingPublisher):
        async def publish(self, message: OutgoingMessage) -> None:
            if not hasattr(self, "failed"):
                self.failed = True
                raise ConnectionError("broker unavailable")
            await super().publish(message)

    publisher = FailingOnce()
    relay = OutboxRelay(
        outbox, publisher, metrics=ServiceMetrics(), backoff_initial=0.3, poll_interval=0.1
    )
    published, delay = await relay.relay_pending()
    assert (published, delay) == (0, 0.3)
    assert (await relay.relay_pending())[0] == 0, "not retried before the backoff"

    await asyncio.sleep(0.4)

    assert (await relay.relay_pending())[0] == 1
    assert len(publisher.published) == 1


class AlwaysFailing(RecordingPublisher):
    """A broker that refuses every message (e.g. unroutable or down)."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    async def publish(self, message: OutgoingMessage) -> None:
        self.attempts += 1
        raise ConnectionError("broker unavailable")


async def test_an_idle_relay_sleeps_between_polls_instead_of_spinning(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    relay = OutboxRelay(
        mongo[database_name]["outbox"],
        RecordingPublisher(),
        metrics=ServiceMetrics(),
        poll_interval=0.5,
    )
    await relay.start()
    cpu_before, wall_before = time.process_time(), time.monotonic()
    await asyncio.sleep(1.5)
    cpu_used = time.process_time() - cpu_before
    wall = time.monotonic() - wall_before
    await relay.stop()

    assert cpu_used < 0.5 * wall, f"idle relay used {cpu_used:.2f} s CPU in {wall:.2f} s"


async def test_a_failing_broker_is_retried_after_the_backoff_and_stop_does_not_wait_for_it(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    outbox = mongo[database_name]["outbox"]
    await outbox.insert_one(_event())
    publisher = AlwaysFailing()
    relay = OutboxRelay(
        outbox, publisher, metrics=ServiceMetrics(), poll_interval=0.05, backoff_initial=30.0
    )
    await relay.start()
    relay.wake()
    await asyncio.sleep(1.0)

    started = time.monotonic()
    await relay.stop()
    stopped_in = time.monotonic() - started

    assert publisher.attempts == 1, "wake-ups and polls must not skip the backoff"
    assert stopped_in < 1.0
    event = await outbox.find_one({})
    assert event is not None
    assert event["status"] == "pending"
    assert "lease_owner" not in event
