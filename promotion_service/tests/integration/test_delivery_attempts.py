"""The per-message delivery counter against a real MongoDB wire server."""

import asyncio
from datetime import timedelta

from promotion_service.consumer.attempts import DeliveryAttempts
from promotion_service.db import DELIVERY_ATTEMPTS, Database


async def test_concurrent_deliveries_of_one_message_are_each_counted_once(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))

    counts = await asyncio.gather(*(attempts.count("id:evt-1") for _ in range(12)))

    assert sorted(counts) == list(range(1, 13))
    assert await attempts.count("id:evt-2") == 1


async def test_a_forgotten_message_starts_again_from_its_first_attempt(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))
    await attempts.count("id:evt-1")
    await attempts.count("id:evt-1")

    await attempts.forget("id:evt-1")

    assert await attempts.count("id:evt-1") == 1


async def test_counters_expire_through_a_ttl_index(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))
    await attempts.count("id:evt-1")

    indexes = await db[DELIVERY_ATTEMPTS].index_information()
    counter = await db[DELIVERY_ATTEMPTS].find_one({"_id": "id:evt-1"})

    assert indexes["ttl_expires_at"]["expireAfterSeconds"] == 0
    assert counter is not None
    assert counter["expires_at"] - counter["last_delivered_at"] == timedelta(hours=1)
