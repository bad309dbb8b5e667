"""HTTP route of campaigns (public: the counter is no secret)."""

from typing import Annotated

from fastapi import APIRouter, Path

from promotion_service.campaigns.schemas import CampaignOut
from promotion_service.dependencies import ServicesDep
from promotion_service.problem_schema import problem_responses

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"])


@router.get(
    "/{campaign_id}",
    operation_id="getCampaign",
    response_model=CampaignOut,
    summary="A campaign and how many of its slots are claimed",
    responses=problem_responses(404, 422, 503),
)
async def get_campaign(
    services: ServicesDep,
    campaign_id: Annotated[str, Path(min_length=1, max_length=64, examples=["first-login"])],
) -> CampaignOut:
    campaign = await services.campaigns.get_campaign(campaign_id)
    return CampaignOut.model_validate(campaign)
