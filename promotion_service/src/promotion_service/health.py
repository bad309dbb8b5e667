"""Liveness and readiness of the API process (the consumer's readiness is its own)."""

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from promotion_service.container import Services
from promotion_service.db import ping

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 3.0


class Liveness(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})
    status: Literal["ok"]


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ok", "checks": {"mongodb": "ok", "jwks": "ok"}}]
        }
    )
    # The login service's words: one probe rule and one alert rule read both services.
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get(
    "/healthz", operation_id="health", response_model=Liveness, summary="The process is alive"
)
async def healthz() -> Liveness:
    return Liveness(status="ok")


@router.get(
    "/readyz",
    operation_id="ready",
    response_model=Readiness,
    summary="MongoDB answers and the login service's JWKS keys can be trusted",
    responses={503: {"model": Readiness, "description": "A dependency is not available"}},
)
async def readyz(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    mongodb, jwks_state = await asyncio.gather(
        _check(ping(services.db)), _check(services.jwks.check())
    )
    checks = {"mongodb": mongodb, "jwks": jwks_state}
    ready = all(state == "ok" for state in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )
