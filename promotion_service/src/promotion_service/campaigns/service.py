"""Campaign reads for the API (the grant writes campaigns; see vouchers/grant.py)."""

from promotion_service.db import Document
from promotion_service.errors import CampaignNotFound
from promotion_service.vouchers.repositories import CampaignRepository


def campaign_status(campaign: Document) -> str:
    """ended (switched off), exhausted (every slot claimed), or active."""
    if campaign.get("status") != "active":
        return "ended"
    return "exhausted" if campaign["slots_claimed"] >= campaign["slots_total"] else "active"


class CampaignService:
    """A campaign with its current counter."""

    def __init__(self, campaigns: CampaignRepository) -> None:
        self._campaigns = campaigns

    async def get_campaign(self, campaign_id: str) -> Document:
        """The campaign with its current counter; CampaignNotFound if there is none."""
        campaign = await self._campaigns.find(campaign_id)
        if campaign is None:
            raise CampaignNotFound
        return {**campaign, "id": campaign["_id"], "status": campaign_status(campaign)}
