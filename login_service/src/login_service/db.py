"""MongoDB client factory and the indexes that guard the service's invariants."""

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from login_service.config import Settings

Document = dict[str, Any]

ACCOUNTS = "accounts"
COUNTERS = "counters"
OUTBOX = "outbox"
LOGIN_FAILURES = "login_failures"
MIGRATIONS = "migrations"

FIRST_LOGIN_COUNTER_ID = "first_login_order"
_INDEX_OPTIONS_CONFLICT = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict

# Unique index name -> account field it protects (read back from DuplicateKeyError).
ACCOUNT_UNIQUE_KEYS = {"username_key": "username", "email_key": "email", "phone": "phone"}


@dataclass(frozen=True, slots=True)
class Collections:
    """The collections of the login database, handed to repositories."""

    accounts: AsyncCollection[Document]
    counters: AsyncCollection[Document]
    outbox: AsyncCollection[Document]
    login_failures: AsyncCollection[Document]
    migrations: AsyncCollection[Document]

    @classmethod
    def of(cls, db: AsyncDatabase[Document]) -> "Collections":
        return cls(
            accounts=db[ACCOUNTS],
            counters=db[COUNTERS],
            outbox=db[OUTBOX],
            login_failures=db[LOGIN_FAILURES],
            migrations=db[MIGRATIONS],
        )


def create_client(
    settings: Settings, listeners: Sequence[monitoring.CommandListener] = ()
) -> AsyncMongoClient[Document]:
    """A client with timezone-aware datetimes, bounded server selection and ``listeners``."""
    return AsyncMongoClient(
        settings.mongodb_uri.get_secret_value(),
        tz_aware=True,
        event_listeners=list(listeners),
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        appname="login-service",
    )


async def _ensure_ttl(
    collection: AsyncCollection[Document], field: str, name: str, seconds: int
) -> None:
    """Create a TTL index, or rebuild it when the retention setting changed.

    Rebuilding (rather than ``collMod``) keeps to the plainest commands; the index
    only purges old documents, so a moment without it changes nothing. Workers
    starting together may both rebuild: a drop that finds nothing is fine.
    """
    keys = [(field, ASCENDING)]
    try:
        await collection.create_index(keys, name=name, expireAfterSeconds=seconds)
    except OperationFailure as exc:
        if exc.code not in _INDEX_OPTIONS_CONFLICT:
            raise
        with contextlib.suppress(OperationFailure):
            await collection.drop_index(name)
        await collection.create_index(keys, name=name, expireAfterSeconds=seconds)


async def ensure_indexes(collections: Collections, *, sent_retention_days: int) -> None:
    """Create every index and the order counter (idempotent; run at start-up by each worker)."""
    await collections.accounts.create_indexes(
        [
            IndexModel([(key, ASCENDING)], name=f"{key}_unique", unique=True)
            for key in ACCOUNT_UNIQUE_KEYS
        ]
        + [
            # One order number per account and no number twice; only accounts that
            # have logged in carry the field.
            IndexModel(
                [("first_login_order", ASCENDING)],
                name="first_login_order_unique",
                unique=True,
                partialFilterExpression={"first_login_order": {"$exists": True}},
            )
        ]
    )
    await collections.outbox.create_indexes(
        [
            IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="pending_due"),
            IndexModel([("status", ASCENDING), ("created_at", ASCENDING)], name="pending_oldest"),
        ]
    )
    await _ensure_ttl(collections.outbox, "sent_at", "sent_ttl", sent_retention_days * 86400)
    await collections.login_failures.create_indexes(
        [IndexModel([("expires_at", ASCENDING)], name="expires_ttl", expireAfterSeconds=0)]
    )
    # The counter exists before the first transaction needs it, so that no
    # transaction has to create a collection or race other workers to insert it.
    with contextlib.suppress(DuplicateKeyError):
        await collections.counters.update_one(
            {"_id": FIRST_LOGIN_COUNTER_ID}, {"$setOnInsert": {"value": 0}}, upsert=True
        )
