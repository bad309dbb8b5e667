"""Response body of the campaign route."""

from typing import Literal

from pydantic import BaseModel, ConfigDict


class CampaignOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "first-login",
                    "discount_percent": 30,
                    "slots_total": 100,
                    "slots_claimed": 42,
                    "status": "active",
                }
            ]
        }
    )

    id: str
    discount_percent: int
    slots_total: int
    slots_claimed: int
    status: Literal["active", "exhausted", "ended"]
