"""The promotion's documents, shared by the grant and by redemption. The unique indexes of
``db.py`` are the arbiters of uniqueness; each method's query is the guard it names."""

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from promotion_service.db import CAMPAIGNS, PROCESSED_EVENTS, VOUCHERS, Database, Document


class CampaignRepository:
    """Campaigns and their slot counter (collection ``campaigns``)."""

    def __init__(self, db: Database) -> None:
        self._collection = db[CAMPAIGNS]

    async def find(
        self, campaign_id: str, session: AsyncClientSession | None = None
    ) -> Document | None:
        return await self._collection.find_one({"_id": campaign_id}, session=session)

    async def count_claim(
        self, campaign_id: str, slots_total: int, session: AsyncClientSession
    ) -> bool:
        """One more slot claimed, only while ``slots_claimed < slots_total``; False if full."""
        counted = await self._collection.update_one(
            {"_id": campaign_id, "slots_total": slots_total, "slots_claimed": {"$lt": slots_total}},
            {"$inc": {"slots_claimed": 1}},
            session=session,
        )
        return counted.modified_count == 1


class ProcessedEventRepository:
    """Events handled to a final outcome, keyed by ``_id = event_id`` (collection
    ``processed_events``): the consumer's idempotency record."""

    def __init__(self, db: Database) -> None:
        self._collection = db[PROCESSED_EVENTS]

    async def find(self, event_id: str, session: AsyncClientSession) -> Document | None:
        return await self._collection.find_one({"_id": event_id}, session=session)

    async def record(self, processed: Document, session: AsyncClientSession) -> None:
        """Insert; the unique ``_id`` refuses a second record of the same event."""
        await self._collection.insert_one(processed, session=session)


class VoucherRepository:
    """Vouchers (collection ``vouchers``); unique per (campaign, account) and (campaign, slot)."""

    def __init__(self, db: Database) -> None:
        self._collection = db[VOUCHERS]

    async def held_by_account(
        self, campaign_id: str, account_id: str, session: AsyncClientSession
    ) -> bool:
        held = await self._collection.find_one(
            {"campaign_id": campaign_id, "account_id": account_id}, {"_id": 1}, session=session
        )
        return held is not None

    async def slot_taken(self, campaign_id: str, slot: int, session: AsyncClientSession) -> bool:
        taken = await self._collection.find_one(
            {"campaign_id": campaign_id, "slot": slot}, {"_id": 1}, session=session
        )
        return taken is not None

    async def insert(self, voucher: Document, session: AsyncClientSession) -> None:
        """Insert; the unique indexes refuse a second voucher for the account or the slot."""
        await self._collection.insert_one(voucher, session=session)

    async def of_account(self, account_id: str, *, limit: int) -> list[Document]:
        """The account's vouchers, newest first."""
        cursor = self._collection.find({"account_id": account_id})
        return await cursor.sort("granted_at", -1).limit(limit).to_list()

    async def owned(self, voucher_id: str, account_id: str) -> Document | None:
        return await self._collection.find_one({"_id": voucher_id, "account_id": account_id})

    async def mark_redeemed(
        self, voucher_id: str, account_id: str, redemption: Document, *, now: datetime
    ) -> bool:
        """active -> redeemed, only while unexpired and owned by ``account_id``: of two
        concurrent redemptions exactly one matches. False if this one did not."""
        result = await self._collection.update_one(
            {
                "_id": voucher_id,
                "account_id": account_id,
                "status": "active",
                "expires_at": {"$gt": now},
            },
            {"$set": {"status": "redeemed", "redemption": redemption}},
        )
        return result.modified_count == 1
