"""Grant a first-login voucher: the promotion's central use case.

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
transaction commits the same unique key first, the insert fails and the transaction helper
runs the body again (``retry_duplicate_key``), whose reads then see the committed document.

An event that can never win (``beyond_campaign``) is settled from the cached campaign terms,
with no transaction and no write (eligibility.py says why that is safe).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from promotion_service.clock import utc_now_ms
from promotion_service.config import Settings
from promotion_service.db import Database, Document
from promotion_service.errors import CampaignMissing, SlotCounterExhausted, SlotHeldByAnotherAccount
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.transaction import run_in_transaction
from promotion_service.vouchers.eligibility import CampaignTerms, CampaignTermsCache
from promotion_service.vouchers.repositories import (
    CampaignRepository,
    ProcessedEventRepository,
    VoucherRepository,
)


class GrantOutcome(StrEnum):
    GRANTED = "granted"
    NOT_ELIGIBLE = "not_eligible"
    BEYOND_CAMPAIGN = "beyond_campaign"
    DUPLICATE_EVENT = "duplicate_event"
    DUPLICATE_ACCOUNT = "duplicate_account"


@dataclass(frozen=True, slots=True)
class GrantPolicy:
    campaign_id: str
    voucher_valid_days: int
    max_transaction_attempts: int


@dataclass(frozen=True, slots=True)
class GrantResult:
    outcome: GrantOutcome
    voucher_id: str | None
    transaction_attempts: int


class VoucherGrant:
    """Turns first-login events into vouchers, each event once."""

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        *,
        campaigns: CampaignRepository,
        vouchers: VoucherRepository,
        processed: ProcessedEventRepository,
        terms: CampaignTermsCache,
        policy: GrantPolicy,
    ) -> None:
        self._client = client
        self._campaigns = campaigns
        self._vouchers = vouchers
        self._processed = processed
        self._terms = terms
        self._policy = policy

    async def beyond_campaign(self, event: FirstLoginEvent) -> GrantResult | None:
        """The fast path: a result if ``event`` can never win (no transaction, no write),
        else None (the event needs ``claim``)."""
        terms = await self._terms.terms()
        if terms is None or not terms.can_never_grant(event.first_login_order):
            return None
        return GrantResult(GrantOutcome.BEYOND_CAMPAIGN, voucher_id=None, transaction_attempts=0)

    async def claim(self, event: FirstLoginEvent) -> GrantResult:
        """Record ``event`` as processed and, if its order is within the campaign, grant its
        voucher, in one transaction.

        Returns once the transaction has committed: only then may the message be acknowledged.
        Raises PermanentGrantError for events that can never be handled, CampaignMissing or
        TransactionRetriesExhausted / PyMongoError for failures a later attempt may overcome.
        """
        run = await run_in_transaction(
            self._client,
            lambda session: self._claim_in(session, event),
            max_attempts=self._policy.max_transaction_attempts,
            retry_duplicate_key=True,
        )
        outcome, voucher_id = run.value
        return GrantResult(outcome, voucher_id=voucher_id, transaction_attempts=run.attempts)

    async def _claim_in(
        self, session: AsyncClientSession, event: FirstLoginEvent
    ) -> tuple[GrantOutcome, str | None]:
        """The claim, top to bottom: each invariant where it is read and where it is guarded."""
        # Invariant 1: handled once. A redelivery finds its own processed record.
        previous = await self._processed.find(event.event_id, session)
        if previous is not None:
            return GrantOutcome.DUPLICATE_EVENT, previous.get("voucher_id")

        campaign = await self._campaigns.find(self._policy.campaign_id, session)
        if campaign is None:
            raise CampaignMissing
        outcome = await self._outcome_of(session, event, campaign)

        now = utc_now_ms()
        voucher_id = str(uuid.uuid4()) if outcome is GrantOutcome.GRANTED else None
        # Invariant 1, guarded: inserting the same event_id twice fails on the unique _id.
        await self._processed.record(_processed_record(event, outcome, voucher_id, now), session)
        if voucher_id is None:
            return outcome, None

        # Invariants 2 and 3, guarded: the unique indexes on (campaign_id, account_id) and
        # (campaign_id, slot) refuse a second voucher for the account or for the slot.
        await self._vouchers.insert(self._voucher(event, campaign, voucher_id, now), session)
        # Invariant 4, guarded: the counter only moves while slots_claimed < slots_total.
        if not await self._campaigns.count_claim(
            self._policy.campaign_id, campaign["slots_total"], session
        ):
            slot = event.first_login_order
            raise SlotCounterExhausted(f"slot {slot} is free but slots_claimed is at the limit")
        return outcome, voucher_id

    async def _outcome_of(
        self, session: AsyncClientSession, event: FirstLoginEvent, campaign: Document
    ) -> GrantOutcome:
        """What a first sight of ``event`` earns, read inside the claim transaction."""
        campaign_id, slot = self._policy.campaign_id, event.first_login_order
        if not CampaignTerms.of(campaign).is_eligible(slot):  # invariant 3: orders 1..slots_total
            return GrantOutcome.NOT_ELIGIBLE
        # Invariant 2: the account already holds this campaign's voucher (another event).
        if await self._vouchers.held_by_account(campaign_id, event.account_id, session):
            return GrantOutcome.DUPLICATE_ACCOUNT
        # Invariant 3: the slot belongs to whoever has this order; nobody else may hold it.
        if await self._vouchers.slot_taken(campaign_id, slot, session):
            raise SlotHeldByAnotherAccount(f"slot {slot} is held by another account")
        return GrantOutcome.GRANTED

    def _voucher(
        self, event: FirstLoginEvent, campaign: Document, voucher_id: str, now: datetime
    ) -> Document:
        return {
            "_id": voucher_id,
            "campaign_id": self._policy.campaign_id,
            "account_id": event.account_id,
            "slot": event.first_login_order,
            "discount_percent": campaign["discount_percent"],
            "status": "active",
            "granted_at": now,
            "expires_at": now + timedelta(days=self._policy.voucher_valid_days),
            "event_id": event.event_id,
            "first_login_at": event.first_login_at,
        }


def _processed_record(
    event: FirstLoginEvent, outcome: GrantOutcome, voucher_id: str | None, now: datetime
) -> Document:
    return {
        "_id": event.event_id,
        "account_id": event.account_id,
        "first_login_order": event.first_login_order,
        "outcome": outcome.value,
        "voucher_id": voucher_id,
        "processed_at": now,
    }


def build_grant(
    mongo: AsyncMongoClient[Document], db: Database, settings: Settings
) -> VoucherGrant:
    """The grant with its repositories and the cached campaign terms of the fast path."""
    campaigns = CampaignRepository(db)
    return VoucherGrant(
        mongo,
        campaigns=campaigns,
        vouchers=VoucherRepository(db),
        processed=ProcessedEventRepository(db),
        terms=CampaignTermsCache(
            campaigns, settings.campaign_id, ttl_seconds=settings.campaign_cache_seconds
        ),
        policy=GrantPolicy(
            campaign_id=settings.campaign_id,
            voucher_valid_days=settings.voucher_valid_days,
            max_transaction_attempts=settings.claim_max_transaction_attempts,
        ),
    )
