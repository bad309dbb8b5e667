"""The start-up migration re-keys accounts stored under the old, text-folded email key."""

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from login_service.accounts.email_rekey import rekey_email_accounts
from login_service.db import Collections, ensure_indexes

pytestmark = pytest.mark.integration


def _account(account_id: str, email: str, email_key: str) -> dict[str, Any]:
    return {
        "_id": account_id,
        "username": account_id,
        "username_key": account_id,
        "email": email,
        "email_key": email_key,
        "phone": f"+4420794600{account_id[-2:]}",
        "password_hash": "not-a-real-hash",
    }


async def test_accounts_with_text_folded_idn_keys_are_rekeyed_once_and_others_untouched(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    collections = Collections.of(mongo[database_name])
    await ensure_indexes(collections, sent_retention_days=7)
    await collections.accounts.insert_many(
        [
            # Stored by the old rule: the whole address case-folded, ß folded to ss.
            _account("acct-01", "Ada@faß.de", "ada@fass.de"),
            _account("acct-02", "Bob@bücher.example", "bob@bücher.example"),
            _account("acct-03", "Cy@Example.com", "cy@example.com"),
        ]
    )

    assert await rekey_email_accounts(collections.accounts) == 2
    assert await rekey_email_accounts(collections.accounts) == 0

    keys = {doc["_id"]: doc["email_key"] async for doc in collections.accounts.find({})}
    assert keys == {
        "acct-01": "ada@xn--fa-hia.de",
        "acct-02": "bob@xn--bcher-kva.example",
        "acct-03": "cy@example.com",
    }
    # The freed key now belongs to nobody: the other domain can register.
    await collections.accounts.insert_one(_account("acct-04", "ada@fass.de", "ada@fass.de"))
