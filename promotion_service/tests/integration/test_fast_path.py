"""Events that can never win cost no write and no transaction, proven by counting the
consumer's MongoDB commands (``mongodb_commands_total``)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection
from prometheus_client import CollectorRegistry

from promotion_service.config import Settings
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.db import CAMPAIGNS, DELIVERY_ATTEMPTS, PROCESSED_EVENTS, VOUCHERS, Database
from tests.factories import eventually, first_login_event, publish
from tests.integration.test_consumer_in_process import running_consumer

WRITES_AND_TRANSACTIONS = {
    "insert",
    "update",
    "delete",
    "findAndModify",
    "commitTransaction",
    "abortTransaction",
}


@pytest.fixture
async def channel(amqp_connection: AbstractConnection) -> AsyncIterator[AbstractChannel]:
    channel = await amqp_connection.channel(publisher_confirms=True)
    yield channel
    await channel.close()


def commands(registry: CollectorRegistry) -> dict[str, float]:
    """mongodb_commands_total by command name, as exported."""
    counted: dict[str, float] = {}
    for family in registry.collect():
        if family.name == "mongodb_commands":
            for sample in family.samples:
                if sample.name == "mongodb_commands_total":
                    counted[sample.labels["command"]] = sample.value
    return counted


def since(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: n - before.get(name, 0) for name, n in after.items() if n > before.get(name, 0)}


async def handled(metrics: ConsumerMetrics, outcome: str, count: int) -> bool:
    return bool(metrics.consumed.labels(outcome=outcome)._value.get() >= count)


async def test_events_beyond_the_slots_are_acknowledged_without_any_write_or_transaction(
    settings: Settings, db: Database, channel: AbstractChannel
) -> None:
    beyond = [first_login_event(order) for order in range(101, 141)]

    async with running_consumer(settings) as metrics:
        before = commands(metrics.registry)
        for body in beyond:
            await publish(channel, settings, body)
        await eventually(
            lambda: handled(metrics, "beyond_campaign", len(beyond)), timeout=30, what="acked"
        )
        await asyncio.sleep(0.5)  # anything the handling still did would be counted by now
        fast_path = since(before, commands(metrics.registry))

        eligible = first_login_event(1)
        await publish(channel, settings, eligible)
        await eventually(lambda: handled(metrics, "granted", 1), timeout=30, what="granted")
        claim = since(before, commands(metrics.registry))

    assert not WRITES_AND_TRANSACTIONS & fast_path.keys(), fast_path
    assert set(fast_path) <= {"find"}
    assert fast_path.get("find", 0) <= 5  # the campaign terms, read once per cache period
    assert await db[PROCESSED_EVENTS].count_documents({"first_login_order": {"$gt": 100}}) == 0
    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0
    # The counter does see writes and transactions: the eligible event's claim shows them.
    assert {"insert", "update", "findAndModify", "commitTransaction"} <= claim.keys(), claim
    assert metrics.consumed.labels(outcome="beyond_campaign")._value.get() == len(beyond)


@pytest.mark.parametrize(
    "campaign_state",
    [{"slots_claimed": 100}, {"status": "ended"}],
    ids=["exhausted", "ended"],
)
async def test_events_for_an_exhausted_or_ended_campaign_take_the_fast_path(
    settings: Settings, db: Database, channel: AbstractChannel, campaign_state: dict[str, object]
) -> None:
    await db[CAMPAIGNS].update_one({"_id": settings.campaign_id}, {"$set": campaign_state})
    within_slots = [first_login_event(order) for order in (3, 50, 100)]

    async with running_consumer(settings) as metrics:
        before = commands(metrics.registry)
        for body in within_slots:
            await publish(channel, settings, body)
        await eventually(
            lambda: handled(metrics, "beyond_campaign", len(within_slots)), timeout=30, what="acked"
        )
        fast_path = since(before, commands(metrics.registry))

    assert set(fast_path) <= {"find"}, fast_path
    assert await db[PROCESSED_EVENTS].count_documents({}) == 0
    assert await db[VOUCHERS].count_documents({}) == 0


async def test_a_malformed_message_still_goes_to_the_dead_letter_queue(
    settings: Settings, db: Database, channel: AbstractChannel
) -> None:
    async with running_consumer(settings) as metrics:
        await publish(channel, settings, b'{"first_login_order": 5000')
        await eventually(
            lambda: _dead_lettered(metrics), timeout=30, what="malformed message dead-lettered"
        )

    assert metrics.consumed.labels(outcome="beyond_campaign")._value.get() == 0


async def _dead_lettered(metrics: ConsumerMetrics) -> bool:
    return bool(metrics.dead_lettered.labels(reason="invalid")._value.get() == 1)
