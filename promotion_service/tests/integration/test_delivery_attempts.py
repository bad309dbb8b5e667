"""The per-message delivery counter against a real MongoDB wire server."""

import asyncio
from datetime import timedelta

from promotion_service.consumer.attempts import AttemptCount, DeliveryAttempts
from promotion_service.db import DELIVERY_ATTEMPTS, Database


async def test_concurrent_deliveries_of_one_message_are_each_counted_once(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))

    counts = await asyncio.gather(*(attempts.count("id:evt-1") for _ in range(12)))

    assert sorted(delivery.attempt for delivery in counts) == list(range(1, 13))
    assert await attempts.count("id:evt-2") == AttemptCount(attempt=1, handed_back=0)


async def test_a_forgotten_message_starts_again_from_its_first_attempt(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))
    await attempts.count("id:evt-1")
    await attempts.count("id:evt-1")

    await attempts.forget("id:evt-1")

    assert await attempts.count("id:evt-1") == AttemptCount(attempt=1, handed_back=0)


async def test_deliveries_handed_back_for_the_database_do_not_count_as_attempts(
    db: Database,
) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))
    for _ in range(5):  # five deliveries, each handed back because the database was away
        assert (await attempts.count("id:evt-1")).attempt == 1
        await attempts.hand_back("id:evt-1")

    assert await attempts.count("id:evt-1") == AttemptCount(attempt=1, handed_back=5)
    assert await attempts.count("id:evt-1") == AttemptCount(
        attempt=2, handed_back=5
    )  # not handed back
    counter = await db[DELIVERY_ATTEMPTS].find_one({"_id": "id:evt-1"})
    assert counter is not None
    assert (counter["attempts"], counter["handed_back"]) == (7, 5)


async def test_handing_back_a_forgotten_message_creates_no_counter(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))

    await attempts.hand_back("id:evt-1")

    assert await db[DELIVERY_ATTEMPTS].count_documents({}) == 0
    assert await attempts.count("id:evt-1") == AttemptCount(attempt=1, handed_back=0)


async def test_counters_expire_through_a_ttl_index(db: Database) -> None:
    attempts = DeliveryAttempts(db, ttl=timedelta(hours=1))
    await attempts.count("id:evt-1")

    indexes = await db[DELIVERY_ATTEMPTS].index_information()
    counter = await db[DELIVERY_ATTEMPTS].find_one({"_id": "id:evt-1"})

    assert indexes["ttl_expires_at"]["expireAfterSeconds"] == 0
    assert counter is not None
    assert counter["expires_at"] - counter["last_delivered_at"] == timedelta(hours=1)
