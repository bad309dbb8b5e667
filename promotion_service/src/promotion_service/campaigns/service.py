"""Campaign reads."""

from promotion_service.campaigns.exceptions import CampaignNotFound
from promotion_service.db import CAMPAIGNS, Database, Document


def campaign_status(campaign: Document) -> str:
    """ended (switched off), exhausted (every slot claimed), or active."""
    if campaign.get("status") != "active":
        return "ended"
    return "exhausted" if campaign["slots_claimed"] >= campaign["slots_total"] else "active"


async def get_campaign(db: Database, campaign_id: str) -> Document:
    """The campaign with its current counter; CampaignNotFound if there is none."""
    campaign = await db[CAMPAIGNS].find_one({"_id": campaign_id})
    if campaign is None:
        raise CampaignNotFound
    return {**campaign, "id": campaign["_id"], "status": campaign_status(campaign)}
