"""Who can win, and the cached campaign terms of the fast path (an in-memory repository)."""

from typing import Any

import pytest

from promotion_service.db import Document
from promotion_service.vouchers.eligibility import CampaignTerms, CampaignTermsCache

CAMPAIGN = {"_id": "first-login", "slots_total": 100, "slots_claimed": 40, "status": "active"}


@pytest.mark.parametrize(("order", "eligible"), [(0, False), (1, True), (100, True), (101, False)])
def test_orders_within_the_slots_of_an_active_campaign_are_eligible(
    order: int, eligible: bool
) -> None:
    assert CampaignTerms.of(CAMPAIGN).is_eligible(order) is eligible
    assert not CampaignTerms.of({**CAMPAIGN, "status": "ended"}).is_eligible(order)


@pytest.mark.parametrize(
    ("campaign", "order", "never"),
    [
        (CAMPAIGN, 100, False),
        (CAMPAIGN, 101, True),
        ({**CAMPAIGN, "slots_claimed": 100}, 1, True),  # exhausted
        ({**CAMPAIGN, "status": "ended"}, 1, True),
    ],
)
def test_an_event_can_never_win_beyond_the_slots_or_in_an_exhausted_or_ended_campaign(
    campaign: Document, order: int, never: bool
) -> None:
    assert CampaignTerms.of(campaign).can_never_grant(order) is never


class CountingCampaigns:
    def __init__(self, campaign: Document | None) -> None:
        self.campaign = campaign
        self.reads = 0

    async def find(self, campaign_id: str, session: Any = None) -> Document | None:
        self.reads += 1
        return self.campaign


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_the_terms_are_read_once_per_cache_period() -> None:
    campaigns, clock = CountingCampaigns(dict(CAMPAIGN)), Clock()
    cache = CampaignTermsCache(campaigns, "first-login", ttl_seconds=5, clock=clock)  # type: ignore[arg-type]

    for _ in range(10):
        assert await cache.terms() == CampaignTerms(100, 40, active=True)
    clock.now = 5.0
    await cache.terms()

    assert campaigns.reads == 2


async def test_a_missing_campaign_is_not_cached() -> None:
    campaigns = CountingCampaigns(None)
    cache = CampaignTermsCache(campaigns, "first-login", ttl_seconds=5, clock=Clock())  # type: ignore[arg-type]

    assert await cache.terms() is None
    assert await cache.terms() is None

    assert campaigns.reads == 2
