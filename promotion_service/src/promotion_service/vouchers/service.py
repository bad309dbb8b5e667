"""Voucher use cases of the API: list a caller's vouchers, redeem one (single use, idempotent
per purchase)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from promotion_service.db import Document
from promotion_service.errors import (
    PurchaseRedeemedWithOtherAmount,
    VoucherAlreadyRedeemed,
    VoucherExpired,
    VoucherNotFound,
)
from promotion_service.vouchers.money import Amount, apply_discount, check_amount
from promotion_service.vouchers.repositories import VoucherRepository

LIST_LIMIT = 100
_STORED_FIELDS = (
    "purchase_id",
    "original_amount",
    "discount_amount",
    "final_amount",
    "currency",
    "redeemed_at",
)


@dataclass(frozen=True, slots=True)
class Redemption:
    voucher_id: str
    purchase_id: str
    original_amount: str
    discount_amount: str
    final_amount: str
    currency: str
    redeemed_at: datetime


def is_expired(voucher: Document, now: datetime) -> bool:
    """Past its expires_at (whether used or not): the rule ``mark_redeemed`` guards by query."""
    return bool(voucher["expires_at"] <= now)


def voucher_status(voucher: Document, now: datetime) -> str:
    """active, redeemed, or expired (an unused voucher past its expires_at)."""
    if voucher["status"] == "redeemed":
        return "redeemed"
    return "expired" if is_expired(voucher, now) else "active"


def _redemption_of(voucher: Document) -> Redemption:
    stored = voucher["redemption"]
    return Redemption(voucher_id=voucher["_id"], **stored)


def _settled(voucher: Document, wanted: Redemption, now: datetime) -> Redemption | None:
    """For a voucher that cannot be redeemed now: the earlier result, or the reason why not."""
    if voucher["status"] == "redeemed":
        earlier = _redemption_of(voucher)
        if earlier.purchase_id != wanted.purchase_id:
            raise VoucherAlreadyRedeemed
        if (earlier.original_amount, earlier.currency) != (
            wanted.original_amount,
            wanted.currency,
        ):
            raise PurchaseRedeemedWithOtherAmount
        return earlier  # the same purchase again: same answer
    if is_expired(voucher, now):
        raise VoucherExpired
    return None


def _priced(voucher: Document, amount: Amount, *, purchase_id: str, now: datetime) -> Redemption:
    """The redemption `voucher` would make of this purchase: its amount, discount and total."""
    price = apply_discount(amount, voucher["discount_percent"])
    original, discount, final = price.as_strings()
    return Redemption(
        voucher_id=voucher["_id"],
        purchase_id=purchase_id,
        original_amount=original,
        discount_amount=discount,
        final_amount=final,
        currency=amount.currency,
        redeemed_at=now,
    )


class VoucherService:
    """A caller's vouchers: listing and redemption."""

    def __init__(self, vouchers: VoucherRepository) -> None:
        self._vouchers = vouchers

    async def list_vouchers(self, *, account_id: str, now: datetime) -> list[Document]:
        """The caller's vouchers, newest first, each with its status as of `now`."""
        vouchers = await self._vouchers.of_account(account_id, limit=LIST_LIMIT)
        return [{**voucher, "status": voucher_status(voucher, now)} for voucher in vouchers]

    async def redeem(
        self,
        *,
        voucher_id: str,
        account_id: str,
        amount: Decimal,
        currency: str,
        purchase_id: str,
        now: datetime,
    ) -> Redemption:
        """Apply the caller's voucher to a purchase, once.

        Single use is enforced by one conditional update (status active -> redeemed, only
        while unexpired and owned by the caller): of two concurrent redemptions exactly one
        matches. The same purchase_id and amount again returns the first result (idempotent
        retries). Raises InvalidAmount, VoucherNotFound (also for someone else's voucher),
        VoucherExpired, VoucherAlreadyRedeemed (for a different purchase_id) or
        PurchaseRedeemedWithOtherAmount (the same purchase_id with another amount or currency).
        """
        checked = check_amount(amount, currency)  # refused before anything is read or written
        voucher = await self._vouchers.owned(voucher_id, account_id)
        if voucher is None:
            raise VoucherNotFound
        redemption = _priced(voucher, checked, purchase_id=purchase_id, now=now)
        earlier = _settled(voucher, redemption, now)
        if earlier is not None:
            return earlier
        stored = {field: getattr(redemption, field) for field in _STORED_FIELDS}
        if await self._vouchers.mark_redeemed(voucher_id, account_id, stored, now=now):
            return redemption
        return await self._settle_lost_race(voucher_id, account_id, redemption, now)

    async def _settle_lost_race(
        self, voucher_id: str, account_id: str, redemption: Redemption, now: datetime
    ) -> Redemption:
        """Lost a race (or the voucher just expired): decide from what is stored now."""
        current = await self._vouchers.owned(voucher_id, account_id)
        if current is None:
            raise VoucherNotFound  # pragma: no cover - vouchers are never deleted
        earlier = _settled(current, redemption, now)
        if earlier is None:
            raise VoucherAlreadyRedeemed  # pragma: no cover - it changed, yet is still active
        return earlier
