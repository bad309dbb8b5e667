"""Liveness, readiness and metrics endpoints of the API process (the consumer's are its own)."""

import asyncio
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict

from promotion_service.config import Settings
from promotion_service.container import Services
from promotion_service.db import ping
from promotion_service.metrics import ApiMetrics, CampaignFill
from promotion_service.serving import draining

router = APIRouter(tags=["health"])
log = structlog.get_logger("promotion_service.health")

CHECK_TIMEOUT_SECONDS = 3.0
METRICS_READ_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "checks": {"mongodb": "ok", "jwks": "ok"}}]
        }
    )
    # A fixed set of words: probes and alert rules match on them.
    status: Literal["ok", "starting", "stopping", "failed", "unavailable"]
    checks: dict[str, str]


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get(
    "/livez",
    operation_id="live",
    response_model=Liveness,
    summary="The process and its event loop answer (restart it when this fails)",
)
@router.get(
    "/healthz",
    operation_id="health",
    response_model=Liveness,
    summary="The process is alive (the same as /livez)",
)
async def livez(request: Request) -> Liveness | JSONResponse:
    if failed := getattr(request.app.state, "start_failed", None):
        return JSONResponse({"status": "failed", "error": failed}, status_code=503)
    return Liveness(status="ok")


@router.get(
    "/readyz",
    operation_id="ready",
    response_model=Readiness,
    summary="This instance can serve: started, not stopping, MongoDB and the JWKS keys at hand",
    responses={
        503: {
            "model": Readiness,
            "description": "`starting` (preparing its database), `stopping` (draining after "
            "SIGTERM) or `unavailable` (`checks` names the dependency that is down)",
        }
    },
)
async def readyz(request: Request) -> JSONResponse:
    if draining():
        return _readiness(request, "stopping", {})
    if getattr(request.app.state, "start_failed", None):
        return _readiness(request, "failed", {})
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return _readiness(
            request, "starting", {"mongodb": "preparing indexes and the default campaign"}
        )
    mongodb, jwks_state = await asyncio.gather(
        _check(ping(services.db)), _check(services.jwks.check())
    )
    checks = {"mongodb": mongodb, "jwks": jwks_state}
    ready = all(state == "ok" for state in checks.values())
    return _readiness(request, "ok" if ready else "unavailable", checks)


def _readiness(request: Request, status: str, checks: dict[str, str]) -> JSONResponse:
    settings: Settings = request.app.state.settings
    if not settings.shows_readiness_details:
        checks = {}  # production: which dependency failed is for the operator's logs
    return JSONResponse(
        {"status": status, "checks": checks}, status_code=200 if status == "ok" else 503
    )


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics of the API (all workers of this instance)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics"}},
)
async def metrics(request: Request) -> Response:
    counters: ApiMetrics = request.app.state.metrics
    settings: Settings = request.app.state.settings
    services: Services | None = getattr(request.app.state, "services", None)
    campaigns = await _campaign_fill(services, settings.campaign_id)
    return Response(counters.exposition(campaigns), media_type=CONTENT_TYPE_LATEST)


async def _campaign_fill(services: Services | None, campaign_id: str) -> list[CampaignFill]:
    """The configured campaign's slots, read now; none while starting or unreadable (the
    other series are still worth serving)."""
    if services is None:
        return []
    try:
        campaign = await asyncio.wait_for(
            services.campaigns.get_campaign(campaign_id), METRICS_READ_TIMEOUT_SECONDS
        )
    except Exception as exc:  # any failure: serve the counters without it
        log.warning("campaign_fill_unreadable", error=type(exc).__name__)
        return []
    return [
        CampaignFill(
            campaign=campaign_id,
            claimed=int(campaign["slots_claimed"]),
            total=int(campaign["slots_total"]),
        )
    ]
