"""A quorum queue's own delivery limit must not dead-letter a good event: the broker counts
every return of a dropped connection, which the consumer's attempt counter does not."""

import asyncio
import uuid
from collections.abc import Callable

from aio_pika.abc import AbstractConnection
from pymongo.errors import ServerSelectionTimeoutError

from promotion_service.config import Settings
from promotion_service.consumer.handler import ClaimFunction
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.db import DELIVERY_ATTEMPTS, PROCESSED_EVENTS, VOUCHERS, Database
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.vouchers.grant import GrantResult, build_grant
from tests.factories import eventually, first_login_event, publish, queue_depth
from tests.integration.broker_connections import close_connection, connection_pids


class OutageThenClaim:
    """The database away for the first `failures` claims, then the real claim."""

    def __init__(self, db: Database, settings: Settings, failures: int) -> None:
        self.calls = 0
        self._failures = failures
        self._claim = build_grant(db.client, db, settings).claim

    async def __call__(self, event: FirstLoginEvent) -> GrantResult:
        self.calls += 1
        if self.calls <= self._failures:
            raise ServerSelectionTimeoutError("no replica set primary")
        return await self._claim(event)


async def test_connection_drops_while_an_event_waits_for_the_database_never_dead_letter_it(
    settings: Settings,
    db: Database,
    amqp_connection: AbstractConnection,
    consumers_claim_with: Callable[[ClaimFunction], None],
) -> None:
    name = f"promotion-consumer-drops-{uuid.uuid4().hex[:8]}"
    max_attempts, drops = 3, 5  # more returns than attempts: the broker's count grows past it
    settings = settings.model_copy(
        update={
            "queue_type": "quorum",
            "max_attempts": max_attempts,
            "consumer_name": name,
            # Long pauses: every drop finds the event held by a handler waiting for MongoDB.
            "retry_base_delay_seconds": 60.0,
            "retry_max_delay_seconds": 60.0,
            "shutdown_timeout_seconds": 20,
        }
    )
    claim = OutageThenClaim(db, settings, failures=drops)
    consumers_claim_with(claim)
    event = first_login_event(1)
    stop = asyncio.Event()
    consumer = FirstLoginConsumer(settings, metrics=ConsumerMetrics())
    task = asyncio.create_task(consumer.run(stop))
    channel = await amqp_connection.channel(publisher_confirms=True)
    try:
        await asyncio.wait_for(consumer.consuming.wait(), timeout=60)
        await publish(channel, settings, event)
        for drop in range(1, drops + 1):
            await eventually(
                lambda n=drop: _handed_back(db, event["event_id"], n),  # type: ignore[misc]
                timeout=90,
                what=f"delivery {drop} waiting for the database",
            )
            await eventually(lambda: _connected(name), timeout=90, what="consumer connected")
            await asyncio.to_thread(close_connection, name, f"drop {drop}")

        await eventually(lambda: _handled(db, event["event_id"]), timeout=120, what="granted")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)

    assert claim.calls == drops + 1
    assert await db[VOUCHERS].count_documents({"account_id": event["account_id"]}) == 1
    assert await queue_depth(channel, settings.dead_letter_queue) == (0, 0)
    await channel.close()


async def _handed_back(db: Database, event_id: str, count: int) -> bool:
    counter = await db[DELIVERY_ATTEMPTS].find_one({"_id": f"id:{event_id}"})
    return counter is not None and counter.get("handed_back", 0) >= count


async def _connected(name: str) -> bool:
    return len(await asyncio.to_thread(connection_pids, name)) == 1


async def _handled(db: Database, event_id: str) -> bool:
    return await db[PROCESSED_EVENTS].count_documents({"_id": event_id}) == 1
