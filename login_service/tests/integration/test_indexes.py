"""Start-up index creation is idempotent and follows setting changes."""

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from login_service.db import Collections, ensure_indexes

pytestmark = pytest.mark.integration


async def test_indexes_are_idempotent_and_the_sent_event_retention_can_change(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    collections = Collections.of(mongo[database_name])

    await ensure_indexes(collections, sent_retention_days=7)
    await ensure_indexes(collections, sent_retention_days=7)
    await ensure_indexes(collections, sent_retention_days=3)

    indexes = await collections.outbox.index_information()
    assert indexes["sent_ttl"]["expireAfterSeconds"] == 3 * 86400
    accounts = await collections.accounts.index_information()
    assert {"username_key_unique", "email_key_unique", "phone_unique"} <= set(accounts)
    assert accounts["first_login_order_unique"]["unique"] is True
