"""The grant (its claim transaction and its fast path) against a real MongoDB wire server,
including races."""

import asyncio
import json

import pytest
from pymongo import AsyncMongoClient

from promotion_service.config import Settings
from promotion_service.consumer.handler import ClaimFunction
from promotion_service.db import CAMPAIGNS, PROCESSED_EVENTS, VOUCHERS, Database, ensure_campaign
from promotion_service.errors import SlotHeldByAnotherAccount
from promotion_service.events.first_login import FirstLoginEvent, decode_first_login
from promotion_service.vouchers.grant import GrantOutcome, build_grant
from tests.factories import first_login_event


def event_of(order: int, account_id: str | None = None, **overrides: object) -> FirstLoginEvent:
    return decode_first_login(
        json.dumps(first_login_event(order, account_id, **overrides)).encode()
    )


@pytest.fixture
def claim(
    mongo_client: AsyncMongoClient[dict[str, object]], db: Database, settings: Settings
) -> ClaimFunction:
    return build_grant(mongo_client, db, settings).claim


async def slots_claimed(db: Database, settings: Settings) -> int:
    campaign = await db[CAMPAIGNS].find_one({"_id": settings.campaign_id})
    assert campaign is not None
    return int(campaign["slots_claimed"])


async def test_an_order_within_the_slots_gets_a_voucher_for_the_slot_equal_to_its_order(
    claim: ClaimFunction, db: Database, settings: Settings
) -> None:
    result = await claim(event_of(7))

    assert result.outcome is GrantOutcome.GRANTED
    voucher = await db[VOUCHERS].find_one({"account_id": "acct-00007"})
    assert voucher is not None
    assert voucher["_id"] == result.voucher_id
    assert voucher["slot"] == 7
    assert voucher["discount_percent"] == 30
    assert voucher["status"] == "active"
    assert (voucher["expires_at"] - voucher["granted_at"]).days == settings.voucher_valid_days
    assert await slots_claimed(db, settings) == 1


async def test_an_order_past_the_slots_is_recorded_without_a_voucher(
    claim: ClaimFunction, db: Database, settings: Settings
) -> None:
    event = event_of(settings.campaign_slots + 1)

    result = await claim(event)

    assert result.outcome is GrantOutcome.NOT_ELIGIBLE
    assert await db[VOUCHERS].count_documents({}) == 0
    processed = await db[PROCESSED_EVENTS].find_one({"_id": event.event_id})
    assert processed is not None
    assert processed["outcome"] == "not_eligible"
    assert await slots_claimed(db, settings) == 0


async def test_the_same_event_again_is_a_duplicate_and_grants_nothing_more(
    claim: ClaimFunction, db: Database, settings: Settings
) -> None:
    event = event_of(3)
    first = await claim(event)

    again = await claim(event)

    assert again.outcome is GrantOutcome.DUPLICATE_EVENT
    assert again.voucher_id == first.voucher_id
    assert await db[VOUCHERS].count_documents({}) == 1
    assert await slots_claimed(db, settings) == 1


async def test_another_event_for_an_account_that_holds_a_voucher_is_a_duplicate_account(
    claim: ClaimFunction, db: Database, settings: Settings
) -> None:
    await claim(event_of(4, "acct-same"))

    again = await claim(event_of(4, "acct-same"))

    assert again.outcome is GrantOutcome.DUPLICATE_ACCOUNT
    assert await db[VOUCHERS].count_documents({}) == 1
    assert await db[PROCESSED_EVENTS].count_documents({}) == 2
    assert await slots_claimed(db, settings) == 1


async def test_a_second_account_with_an_order_already_held_is_refused_as_a_contradiction(
    claim: ClaimFunction, db: Database
) -> None:
    await claim(event_of(5, "acct-first"))

    with pytest.raises(SlotHeldByAnotherAccount):
        await claim(event_of(5, "acct-second"))

    assert await db[VOUCHERS].count_documents({}) == 1
    assert await db[PROCESSED_EVENTS].count_documents({}) == 1  # nothing of the refused event


async def test_the_same_event_delivered_twice_concurrently_grants_one_voucher(
    claim: ClaimFunction, db: Database, settings: Settings
) -> None:
    event = event_of(9)

    results = await asyncio.gather(*(claim(event) for _ in range(4)))

    outcomes = sorted(result.outcome.value for result in results)
    assert outcomes == ["duplicate_event"] * 3 + ["granted"]
    assert await db[VOUCHERS].count_documents({}) == 1
    assert await slots_claimed(db, settings) == 1


async def test_two_events_for_one_account_concurrently_grant_one_voucher(
    claim: ClaimFunction, db: Database, settings: Settings
) -> None:
    events = [event_of(11, "acct-racer") for _ in range(4)]

    results = await asyncio.gather(*(claim(event) for event in events))

    outcomes = sorted(result.outcome.value for result in results)
    assert outcomes == ["duplicate_account"] * 3 + ["granted"]
    assert await db[VOUCHERS].count_documents({"account_id": "acct-racer"}) == 1
    assert await slots_claimed(db, settings) == 1


async def test_concurrent_claims_for_more_orders_than_slots_fill_exactly_the_slots(
    db: Database, settings: Settings
) -> None:
    small = settings.model_copy(update={"campaign_id": "small", "campaign_slots": 5})
    await ensure_campaign(db, small)
    small_claim = build_grant(db.client, db, small).claim

    results = await asyncio.gather(*(small_claim(event_of(order)) for order in range(1, 13)))

    granted = sorted(r.outcome.value for r in results).count("granted")
    assert granted == 5
    vouchers = await db[VOUCHERS].find({"campaign_id": "small"}).to_list()
    assert sorted(v["slot"] for v in vouchers) == [1, 2, 3, 4, 5]
    campaign = await db[CAMPAIGNS].find_one({"_id": "small"})
    assert campaign is not None
    assert campaign["slots_claimed"] == 5
