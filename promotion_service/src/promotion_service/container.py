"""What the API's requests need, built once per worker in the lifespan and kept on ``app.state``."""

from dataclasses import dataclass

import httpx
from pymongo import AsyncMongoClient

from promotion_service.auth.jwks import JwksClient
from promotion_service.auth.tokens import TokenVerifier
from promotion_service.campaigns.service import CampaignService
from promotion_service.config import Settings
from promotion_service.db import Database, Document, create_client
from promotion_service.metrics import ApiMetrics
from promotion_service.vouchers.repositories import CampaignRepository, VoucherRepository
from promotion_service.vouchers.service import VoucherService


@dataclass(frozen=True, slots=True)
class Services:
    db: Database
    jwks: JwksClient
    token_verifier: TokenVerifier
    vouchers: VoucherService
    campaigns: CampaignService


def connect(settings: Settings, metrics: ApiMetrics) -> AsyncMongoClient[Document]:
    """The database client (it connects lazily), its commands counted."""
    return create_client(settings, app_name="promotion-api", listeners=[metrics.mongo_commands])


def build_services(
    settings: Settings, metrics: ApiMetrics, db: Database, http: httpx.AsyncClient
) -> Services:
    """Everything a request needs, on a prepared database: the JWKS client (fetching over
    ``http``) and the token verifier over it, and the voucher and campaign services."""
    jwks = JwksClient(
        settings.jwks_url,
        http,
        ttl_seconds=settings.jwks_cache_ttl_seconds,
        min_refetch_interval_seconds=settings.jwks_min_refetch_interval_seconds,
        max_key_age_seconds=settings.jwks_max_key_age_seconds,
        on_fetched=metrics.jwks_fetched.set_to_current_time,
    )
    verifier = TokenVerifier(
        jwks,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    return Services(
        db=db,
        jwks=jwks,
        token_verifier=verifier,
        vouchers=VoucherService(VoucherRepository(db)),
        campaigns=CampaignService(CampaignRepository(db)),
    )
