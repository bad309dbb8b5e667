"""The start-up migration re-keys accounts stored under the old, text-folded email key."""

from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from login_service.accounts.email_rekey import (
    MIGRATION_ID,
    rekey_email_accounts,
    rekey_email_accounts_once,
)
from login_service.config import Settings
from login_service.db import Collections, ensure_indexes
from tests.support import running_app

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

    assert (await rekey_email_accounts(collections.accounts)).changed == 2
    assert (await rekey_email_accounts(collections.accounts)).changed == 0

    keys = {doc["_id"]: doc["email_key"] async for doc in collections.accounts.find({})}
    assert keys == {
        "acct-01": "ada@xn--fa-hia.de",
        "acct-02": "bob@xn--bcher-kva.example",
        "acct-03": "cy@example.com",
    }
    # The freed key now belongs to nobody: the other domain can register.
    await collections.accounts.insert_one(_account("acct-04", "ada@fass.de", "ada@fass.de"))


class _Commands(monitoring.CommandListener):
    """The (command, collection) pairs a client sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append((event.command_name, str(event.command.get(event.command_name))))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


async def test_the_first_start_rekeys_and_records_it_and_a_later_start_does_not_scan(
    make_settings: Callable[..., Settings],
    mongo: AsyncMongoClient[dict[str, Any]],
    mongodb_uri: str,
    database_name: str,
) -> None:
    database = mongo[database_name]
    await database["accounts"].insert_one(_account("acct-01", "Ada@faß.de", "ada@fass.de"))

    async with running_app(make_settings()):
        pass

    account = await database["accounts"].find_one({"_id": "acct-01"})
    assert account is not None
    assert account["email_key"] == "ada@xn--fa-hia.de"
    marker = await database["migrations"].find_one({"_id": MIGRATION_ID})
    assert marker is not None
    assert marker["accounts_rekeyed"] == 1

    commands = _Commands()
    watched: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_uri, event_listeners=[commands], serverSelectionTimeoutMS=10_000
    )
    try:
        collections = Collections.of(watched[database_name])
        await rekey_email_accounts_once(collections.accounts, collections.migrations)
    finally:
        await watched.close()
    assert [c for c in commands.sent if c[1] in ("accounts", "migrations")] == [
        ("find", "migrations")
    ], "a later start reads the marker only: no scan of the accounts"


async def test_a_conflict_leaves_the_migration_unfinished_for_the_next_start(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    collections = Collections.of(mongo[database_name])
    await ensure_indexes(collections, sent_retention_days=7)
    await collections.accounts.insert_many(
        [
            _account("acct-01", "Ada@faß.de", "ada@fass.de"),
            # Already holds the key acct-01 would move to.
            _account("acct-02", "ada@xn--fa-hia.de", "ada@xn--fa-hia.de"),
        ]
    )

    await rekey_email_accounts_once(collections.accounts, collections.migrations)

    assert await collections.migrations.count_documents({}) == 0
    account = await collections.accounts.find_one({"_id": "acct-01"})
    assert account is not None
    assert account["email_key"] == "ada@fass.de"
