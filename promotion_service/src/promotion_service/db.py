"""MongoDB client factory, collection names, indexes and the configured campaign."""

import contextlib
from collections.abc import Sequence
from datetime import UTC
from typing import Any

import structlog
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from promotion_service.clock import utc_now_ms
from promotion_service.config import Settings

type Document = dict[str, Any]
type Database = AsyncDatabase[Document]

CAMPAIGNS = "campaigns"
VOUCHERS = "vouchers"
PROCESSED_EVENTS = "processed_events"
DELIVERY_ATTEMPTS = "delivery_attempts"

log = structlog.get_logger(__name__)


def create_client(
    settings: Settings,
    *,
    app_name: str,
    listeners: Sequence[monitoring.CommandListener] = (),
) -> AsyncMongoClient[Document]:
    """A client with timezone-aware datetimes and bounded server selection."""
    return AsyncMongoClient(
        settings.mongodb_uri,
        tz_aware=True,
        tzinfo=UTC,
        appname=app_name,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        connectTimeoutMS=settings.mongodb_timeout_ms,
        event_listeners=list(listeners),
    )


async def ensure_indexes(db: Database) -> None:
    """Create the unique indexes that guard the promotion's invariants (idempotent)."""
    await db[VOUCHERS].create_indexes(
        [
            # One voucher per account per campaign.
            IndexModel(
                [("campaign_id", ASCENDING), ("account_id", ASCENDING)],
                unique=True,
                name="uniq_campaign_account",
            ),
            # One voucher per slot per campaign.
            IndexModel(
                [("campaign_id", ASCENDING), ("slot", ASCENDING)],
                unique=True,
                name="uniq_campaign_slot",
            ),
            IndexModel(
                [("account_id", ASCENDING), ("granted_at", DESCENDING)],
                name="account_granted_at",
            ),
        ]
    )
    # processed_events is keyed by _id = event_id, unique by construction.
    # Delivery counters of unsettled messages disappear once past their expires_at.
    await db[DELIVERY_ATTEMPTS].create_indexes(
        [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="ttl_expires_at")]
    )


async def ensure_campaign(db: Database, settings: Settings) -> None:
    """Create the configured campaign if absent; an existing one is left as it is."""
    now = utc_now_ms()
    # Another process may create it between our match and insert: same outcome.
    with contextlib.suppress(DuplicateKeyError):
        await db[CAMPAIGNS].update_one(
            {"_id": settings.campaign_id},
            {
                "$setOnInsert": {
                    "discount_percent": settings.campaign_discount_percent,
                    "slots_total": settings.campaign_slots,
                    "slots_claimed": 0,
                    "status": "active",
                    "created_at": now,
                }
            },
            upsert=True,
        )
    stored = await db[CAMPAIGNS].find_one({"_id": settings.campaign_id})
    if stored is not None and (
        stored.get("slots_total") != settings.campaign_slots
        or stored.get("discount_percent") != settings.campaign_discount_percent
    ):
        log.warning(
            "campaign_differs_from_configuration",
            campaign_id=settings.campaign_id,
            stored_slots_total=stored.get("slots_total"),
            stored_discount_percent=stored.get("discount_percent"),
        )


async def prepare_database(db: Database, settings: Settings) -> None:
    """Indexes first, then the configured campaign: what both processes need at start-up."""
    await ensure_indexes(db)
    await ensure_campaign(db, settings)


async def ping(db: Database) -> None:
    """Raise if the server does not answer."""
    await db.command("ping")
