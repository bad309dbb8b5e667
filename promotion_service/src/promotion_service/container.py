"""What the API's requests need, built once per app in the lifespan and kept on ``app.state``."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from promotion_service.auth.jwks import JwksClient
from promotion_service.auth.tokens import TokenVerifier
from promotion_service.campaigns.service import CampaignService
from promotion_service.db import Database
from promotion_service.errors import ServiceStarting
from promotion_service.vouchers.repositories import CampaignRepository, VoucherRepository
from promotion_service.vouchers.service import VoucherService


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    jwks: JwksClient
    token_verifier: TokenVerifier
    vouchers: VoucherService
    campaigns: CampaignService

    @classmethod
    def build(cls, db: Database, jwks: JwksClient, token_verifier: TokenVerifier) -> "Services":
        return cls(
            db=db,
            jwks=jwks,
            token_verifier=token_verifier,
            vouchers=VoucherService(VoucherRepository(db)),
            campaigns=CampaignService(CampaignRepository(db)),
        )


async def services(request: Request) -> Services:
    """The instance's services; 503 `starting` until its start has built them."""
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a hop per request.
    built: Services | None = getattr(request.app.state, "services", None)
    if built is None:
        raise ServiceStarting
    return built


ServicesDep = Annotated[Services, Depends(services)]
