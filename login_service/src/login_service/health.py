"""Liveness, readiness and metrics endpoints."""

import asyncio
from collections.abc import Awaitable
from typing import Any, Literal

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from login_service.config import Settings
from login_service.container import Services
from login_service.metrics import ServiceMetrics
from login_service.serving import draining

router = APIRouter(tags=["health"])
log = structlog.get_logger("login_service.health")
CHECK_TIMEOUT_SECONDS = 2.0


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ok", "degraded", "starting", "stopping", "failed", "unavailable"]
    checks: dict[str, str]


async def _check(probe: Awaitable[Any]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return "error: timed out"
    except Exception as exc:  # noqa: BLE001 - any failure means the dependency is down
        return f"error: {type(exc).__name__}"
    return "ok"


@router.get(
    "/livez",
    operation_id="live",
    response_model=Liveness,
    summary="The process and its event loop answer (restart it when this fails)",
    responses={200: {"description": "Alive."}},
)
@router.get(
    "/healthz",
    operation_id="health",
    response_model=Liveness,
    summary="The process is alive (the same as /livez)",
    responses={200: {"description": "Alive."}},
)
async def livez(request: Request) -> Liveness | JSONResponse:
    if failed := getattr(request.app.state, "start_failed", None):
        return JSONResponse({"status": "failed", "error": failed}, status_code=503)
    return Liveness()


@router.get(
    "/readyz",
    operation_id="ready",
    response_model=Readiness,
    summary="This instance can serve: started, not stopping, its dependencies reachable",
    responses={
        200: {"description": "Ready (RabbitMQ may be `degraded`: logins work, events wait)."},
        503: {
            "model": Readiness,
            "description": "`starting` (preparing its database), `stopping` (draining after "
            "SIGTERM) or `unavailable` (`checks` names the failing dependency).",
            "content": {
                "application/json": {
                    "example": {
                        "status": "unavailable",
                        "checks": {"mongodb": "error: timed out", "rabbitmq": "ok"},
                    }
                }
            },
        },
    },
)
async def readyz(request: Request) -> JSONResponse:
    settings: Settings = request.app.state.settings
    status, code, checks = await _readiness(request)
    if not settings.shows_readiness_details:
        checks = {}  # production: which dependency failed is for the operator's logs
    return JSONResponse({"status": status, "checks": checks}, status_code=code)


async def _readiness(request: Request) -> tuple[str, int, dict[str, str]]:
    if draining():
        return "stopping", 503, {}
    if getattr(request.app.state, "start_failed", None):
        return "failed", 503, {}
    services: Services | None = getattr(request.app.state, "services", None)
    if services is None:
        return "starting", 503, {"mongodb": "preparing indexes and migrations"}
    mongodb, rabbitmq = await asyncio.gather(
        _check(services.mongo.admin.command("ping")), _check(services.publisher.check())
    )
    checks = {"mongodb": mongodb, "rabbitmq": rabbitmq}
    if mongodb != "ok" or (services.settings.readiness_requires_broker and rabbitmq != "ok"):
        return "unavailable", 503, checks
    if rabbitmq != "ok":
        # The outbox keeps first-login events until the broker returns: logins still work.
        return "degraded", 200, checks
    return "ok", 200, checks


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics of the service (all workers of this instance)",
    include_in_schema=True,
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Metrics."}},
)
async def metrics(request: Request) -> Response:
    counters: ServiceMetrics = request.app.state.metrics
    services: Services | None = getattr(request.app.state, "services", None)
    backlog = None
    try:
        if services is not None:  # starting: the counters alone
            backlog = await asyncio.wait_for(services.relay.backlog(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the counters are still worth serving
        log.warning("outbox_backlog_unreadable", error=type(exc).__name__)
    return Response(counters.exposition(backlog), media_type=CONTENT_TYPE_LATEST)
