"""The unique indexes are the last word on slots and accounts, whatever the code above them.

Two claim transactions that both read a slot as free (snapshot isolation lets them) would
both insert without these indexes: the database itself must refuse the second voucher.
"""

import pytest
from pymongo.errors import DuplicateKeyError

from promotion_service.config import Settings
from promotion_service.db import VOUCHERS, Database


async def test_the_database_refuses_a_second_voucher_for_one_slot(
    db: Database, settings: Settings
) -> None:
    campaign = settings.campaign_id
    await db[VOUCHERS].insert_one(
        {"_id": "v1", "campaign_id": campaign, "account_id": "a", "slot": 7}
    )

    with pytest.raises(DuplicateKeyError) as refused:
        await db[VOUCHERS].insert_one(
            {"_id": "v2", "campaign_id": campaign, "account_id": "b", "slot": 7}
        )

    assert set((refused.value.details or {}).get("keyPattern", {})) == {"campaign_id", "slot"}
    assert await db[VOUCHERS].count_documents({}) == 1


async def test_the_database_refuses_a_second_voucher_for_one_account(
    db: Database, settings: Settings
) -> None:
    campaign = settings.campaign_id
    await db[VOUCHERS].insert_one(
        {"_id": "v1", "campaign_id": campaign, "account_id": "a", "slot": 1}
    )

    with pytest.raises(DuplicateKeyError) as refused:
        await db[VOUCHERS].insert_one(
            {"_id": "v2", "campaign_id": campaign, "account_id": "a", "slot": 2}
        )

    assert set((refused.value.details or {}).get("keyPattern", {})) == {"campaign_id", "account_id"}


async def test_another_campaign_may_use_the_same_slot(db: Database, settings: Settings) -> None:
    await db[VOUCHERS].insert_one(
        {"_id": "v1", "campaign_id": settings.campaign_id, "account_id": "a", "slot": 3}
    )
    await db[VOUCHERS].insert_one(
        {"_id": "v2", "campaign_id": "spring", "account_id": "b", "slot": 3}
    )
    assert await db[VOUCHERS].count_documents({}) == 2
