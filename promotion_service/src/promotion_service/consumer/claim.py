"""Claim a first-login voucher: the one transaction of the promotion.

Invariants, and what guards each one independently of transaction isolation:

1. An event is handled once.
   Guard: processed_events is keyed by _id = event_id (unique _id).
2. One voucher per account per campaign.
   Guard: unique index vouchers(campaign_id, account_id).
3. One account per slot; slot = first_login_order, so the holders are exactly orders
   1..slots_total.
   Guard: unique index vouchers(campaign_id, slot), and eligibility 1 <= order <= slots_total.
4. Never more slots claimed than the campaign has.
   Guard: the conditional update {slots_claimed: {$lt: slots_total}} with $inc: 1.

The transaction makes the writes of one event (processed record, voucher, counter) atomic:
either all of them exist or none. Reads inside it only classify the event; if a concurrent
transaction commits the same unique key first, the insert fails and `run_transaction` runs
the body again, whose reads then see the committed document.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from promotion_service.consumer.transaction import run_transaction
from promotion_service.db import (
    CAMPAIGNS,
    PROCESSED_EVENTS,
    VOUCHERS,
    Database,
    Document,
    utc_now,
)
from promotion_service.events.first_login import FirstLoginEvent


class ClaimOutcome(StrEnum):
    GRANTED = "granted"
    NOT_ELIGIBLE = "not_eligible"
    DUPLICATE_EVENT = "duplicate_event"
    DUPLICATE_ACCOUNT = "duplicate_account"


class CampaignMissing(Exception):
    """The configured campaign does not exist (yet); retrying may succeed."""


class PermanentClaimError(Exception):
    """The event contradicts stored state; retrying cannot help, a person must look."""


class SlotHeldByAnotherAccount(PermanentClaimError):
    """Two accounts carry the same first_login_order: the producer broke its contract."""


class SlotCounterExhausted(PermanentClaimError):
    """A free slot but a full counter: stored state is inconsistent."""


@dataclass(frozen=True, slots=True)
class ClaimPolicy:
    campaign_id: str
    voucher_valid_days: int
    max_transaction_attempts: int


@dataclass(frozen=True, slots=True)
class ClaimResult:
    outcome: ClaimOutcome
    voucher_id: str | None
    transaction_attempts: int


async def claim_first_login_voucher(
    client: AsyncMongoClient[Document],
    db: Database,
    event: FirstLoginEvent,
    policy: ClaimPolicy,
) -> ClaimResult:
    """Record `event` as processed and, if its order is within the campaign, grant its voucher.

    Returns once the transaction has committed: only then may the message be acknowledged.
    Raises PermanentClaimError for events that can never be handled, CampaignMissing or
    TransactionRetriesExhausted / PyMongoError for failures a later attempt may overcome.
    """
    slot = event.first_login_order

    async def claim_in_transaction(session: AsyncClientSession) -> tuple[ClaimOutcome, str | None]:
        # Invariant 1: handled once. A redelivery finds its own processed record.
        previous = await db[PROCESSED_EVENTS].find_one({"_id": event.event_id}, session=session)
        if previous is not None:
            return ClaimOutcome.DUPLICATE_EVENT, previous.get("voucher_id")

        campaign = await db[CAMPAIGNS].find_one({"_id": policy.campaign_id}, session=session)
        if campaign is None:
            raise CampaignMissing(policy.campaign_id)
        slots_total: int = campaign["slots_total"]

        # Eligibility (invariant 3): orders 1..slots_total, each one claiming the slot = order.
        outcome = ClaimOutcome.NOT_ELIGIBLE
        if campaign.get("status") == "active" and 1 <= slot <= slots_total:
            outcome = ClaimOutcome.GRANTED
            # Invariant 2: the account already holds this campaign's voucher (another event id).
            held = await db[VOUCHERS].find_one(
                {"campaign_id": policy.campaign_id, "account_id": event.account_id},
                {"_id": 1},
                session=session,
            )
            if held is not None:
                outcome = ClaimOutcome.DUPLICATE_ACCOUNT
            # Invariant 3: the slot belongs to whoever has this order; nobody else may hold it.
            elif await db[VOUCHERS].find_one(
                {"campaign_id": policy.campaign_id, "slot": slot}, {"_id": 1}, session=session
            ):
                raise SlotHeldByAnotherAccount(f"slot {slot} is held by another account")

        now = utc_now()
        voucher_id = str(uuid.uuid4()) if outcome is ClaimOutcome.GRANTED else None

        # Invariant 1, guarded: inserting the same event_id twice fails on the unique _id.
        await db[PROCESSED_EVENTS].insert_one(
            {
                "_id": event.event_id,
                "account_id": event.account_id,
                "first_login_order": slot,
                "outcome": outcome.value,
                "voucher_id": voucher_id,
                "processed_at": now,
            },
            session=session,
        )
        if outcome is not ClaimOutcome.GRANTED:
            return outcome, None

        # Invariants 2 and 3, guarded: the unique indexes on (campaign_id, account_id) and
        # (campaign_id, slot) refuse a second voucher for the account or for the slot.
        await db[VOUCHERS].insert_one(
            {
                "_id": voucher_id,
                "campaign_id": policy.campaign_id,
                "account_id": event.account_id,
                "slot": slot,
                "discount_percent": campaign["discount_percent"],
                "status": "active",
                "granted_at": now,
                "expires_at": now + timedelta(days=policy.voucher_valid_days),
                "event_id": event.event_id,
                "first_login_at": event.first_login_at,
            },
            session=session,
        )
        # Invariant 4, guarded: the counter only moves while slots_claimed < slots_total.
        counted = await db[CAMPAIGNS].update_one(
            {
                "_id": policy.campaign_id,
                "slots_total": slots_total,
                "slots_claimed": {"$lt": slots_total},
            },
            {"$inc": {"slots_claimed": 1}},
            session=session,
        )
        if counted.modified_count != 1:
            raise SlotCounterExhausted(f"slot {slot} is free but slots_claimed is at the limit")
        return outcome, voucher_id

    async with client.start_session() as session:
        run = await run_transaction(
            session, claim_in_transaction, max_attempts=policy.max_transaction_attempts
        )
    outcome, voucher_id = run.value
    return ClaimResult(outcome=outcome, voucher_id=voucher_id, transaction_attempts=run.attempts)
