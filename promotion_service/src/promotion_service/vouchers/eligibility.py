"""Who can win a first-login voucher, and the cached campaign terms the fast path reads.

The rule: the campaign is active and the event's first_login_order is within
1..slots_total; the order is the slot it claims (so the holders are exactly orders
1..slots_total).

An event can never win once its order is above slots_total, or the campaign has ended, or
every slot is claimed. A campaign's slots_total and its end never change once it has
claims, ``slots_claimed`` only grows, and an ended campaign is never switched on again
(docs/decisions.md), so a cached reading that says "can never win" stays true: only the
opposite reading can go stale, and that one leads to the full claim transaction anyway.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from promotion_service.db import Document
from promotion_service.vouchers.repositories import CampaignRepository


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    """What eligibility reads of a campaign, as read at one moment."""

    slots_total: int
    slots_claimed: int
    active: bool

    @classmethod
    def of(cls, campaign: Document) -> "CampaignTerms":
        return cls(
            slots_total=campaign["slots_total"],
            slots_claimed=campaign.get("slots_claimed", 0),
            active=campaign.get("status") == "active",
        )

    def is_eligible(self, order: int) -> bool:
        """The rule: an active campaign, and an order within 1..slots_total."""
        return self.active and 1 <= order <= self.slots_total

    def can_never_grant(self, order: int) -> bool:
        """True when no claim of ``order`` can ever succeed (see the module docstring)."""
        return not self.is_eligible(order) or self.slots_claimed >= self.slots_total


class CampaignTermsCache:
    """The terms of one campaign, read at most once per ``ttl_seconds`` (a missing
    campaign is not cached: it may be created any moment)."""

    def __init__(
        self,
        campaigns: CampaignRepository,
        campaign_id: str,
        *,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._campaigns = campaigns
        self._campaign_id = campaign_id
        self._ttl = ttl_seconds
        self._clock = clock
        self._terms: CampaignTerms | None = None
        self._read_at = float("-inf")

    async def terms(self) -> CampaignTerms | None:
        if self._terms is not None and self._clock() - self._read_at < self._ttl:
            return self._terms
        campaign = await self._campaigns.find(self._campaign_id)
        if campaign is None:
            return None
        self._terms, self._read_at = CampaignTerms.of(campaign), self._clock()
        return self._terms
