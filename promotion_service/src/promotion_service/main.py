"""create_app(settings): the promotion HTTP API."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge
from pymongo import AsyncMongoClient

from promotion_service import __version__, health
from promotion_service.api_metrics import CampaignFill, exposition
from promotion_service.auth.jwks import JwksClient
from promotion_service.auth.tokens import TokenVerifier
from promotion_service.campaigns.router import router as campaigns_router
from promotion_service.config import Settings, get_settings
from promotion_service.container import Services
from promotion_service.db import Document, create_client, prepare_database
from promotion_service.logs import configure_logging
from promotion_service.middleware import (
    BodySizeLimitMiddleware,
    HttpMetrics,
    RequestContextMiddleware,
)
from promotion_service.mongo_metrics import MongoCommandCounter
from promotion_service.problem_schema import tidy_problem_content
from promotion_service.problems import install_problem_handlers
from promotion_service.startup import until_ready, watch_start
from promotion_service.tracing import API_SERVICE_NAME, start_tracing
from promotion_service.vouchers.router import router as vouchers_router

METRICS_READ_TIMEOUT_SECONDS = 2.0

DESCRIPTION = """
Vouchers of the first-login promotion: the first accounts to log in (by the login service's
first-login order) get a discount voucher for their next purchase.

Authenticate with the access token of the login service (`Authorization: Bearer ...`).
Errors are `application/problem+json` (RFC 9457) with the login service's members: `type`
(`urn:bank:promotion:problem:<name>`), `title`, `status`, `detail`, `instance` (the request
path), `request_id` (the response's `X-Request-ID`) and, for invalid input,
`errors: [{field, message, type}]`. A 503 carries `Retry-After`.
Money travels as decimal strings.
"""


async def _start(
    app: FastAPI,
    settings: Settings,
    mongo: AsyncMongoClient[Document],
    http: httpx.AsyncClient,
    stop: asyncio.Event,
    jwks_fetched: Gauge,
) -> None:
    """Prepare the database (indexes, the default campaign), then build what requests need."""
    db = mongo[settings.mongodb_database]
    await until_ready("mongodb", partial(prepare_database, db, settings), stop)
    if stop.is_set():
        return
    jwks = JwksClient(
        settings.jwks_url,
        http,
        ttl_seconds=settings.jwks_cache_ttl_seconds,
        min_refetch_interval_seconds=settings.jwks_min_refetch_interval_seconds,
        max_key_age_seconds=settings.jwks_max_key_age_seconds,
        on_fetched=jwks_fetched.set_to_current_time,
    )
    verifier = TokenVerifier(
        jwks,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    app.state.services = Services.build(db, jwks, verifier)
    structlog.get_logger(__name__).info(
        "api_started", environment=settings.environment, database=db.name
    )


async def _campaign_fill(app: FastAPI, settings: Settings) -> list[CampaignFill]:
    """The configured campaign's slots, read now; none while starting or unreadable (the
    other series are still worth serving)."""
    services: Services | None = getattr(app.state, "services", None)
    if services is None:
        return []
    try:
        campaign = await asyncio.wait_for(
            services.campaigns.get_campaign(settings.campaign_id), METRICS_READ_TIMEOUT_SECONDS
        )
    except Exception as exc:  # any failure: serve the counters without it
        structlog.get_logger(__name__).warning("campaign_fill_unreadable", error=type(exc).__name__)
        return []
    return [
        CampaignFill(
            campaign=settings.campaign_id,
            claimed=int(campaign["slots_claimed"]),
            total=int(campaign["slots_total"]),
        )
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; clients are opened in the lifespan and closed after it."""
    settings = settings or get_settings()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    registry = CollectorRegistry()
    mongo_commands = MongoCommandCounter(registry)
    # Each worker fetches and caches the keys on its own; across workers the newest fetch
    # is what the instance can still verify with ("max"). Age = time() - this.
    jwks_fetched = Gauge(
        "promotion_jwks_keys_fetched_timestamp_seconds",
        "When the cached JWKS keys were last fetched successfully (Unix time; 0: not yet).",
        registry=registry,
        multiprocess_mode="max",
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The instance serves at once (`/readyz` answers `starting`, the API 503) while its
        # start prepares the database, retried until MongoDB answers.
        mongo = create_client(settings, app_name="promotion-api", listeners=[mongo_commands])
        http = httpx.AsyncClient(timeout=settings.jwks_timeout_seconds, follow_redirects=False)
        stop = asyncio.Event()
        start = asyncio.create_task(_start(app, settings, mongo, http, stop, jwks_fetched))
        watch_start(app, start)
        try:
            yield
        finally:
            stop.set()
            start.cancel()
            await asyncio.gather(start, return_exceptions=True)
            await http.aclose()
            await mongo.close()
            if app.state.tracer_provider is not None:
                app.state.tracer_provider.force_flush()  # the last spans, before the exit

    # Swagger UI is served from the locked fastapi-offline package, never a CDN (bank
    # networks often block them); no validatorUrl, so nothing is sent to swagger.io; no
    # ReDoc, whose bundle fetches its logo from its vendor's CDN on every view.
    about: dict[str, Any] = {
        "title": "Promotion service",
        "version": __version__,
        "description": DESCRIPTION,
        "lifespan": lifespan,
    }
    if settings.serves_api_docs:
        app = FastAPIOffline(redoc_url=None, swagger_ui_parameters={"validatorUrl": None}, **about)
    else:  # production unless told otherwise: the API's map is not the public's
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **about)
    app.state.settings = settings
    install_problem_handlers(app)
    app.include_router(vouchers_router)
    app.include_router(campaigns_router)
    app.include_router(health.router)

    @app.get(
        "/metrics",
        operation_id="metrics",
        tags=["health"],
        summary="Prometheus metrics of the API (all workers of this instance)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics"}},
    )
    async def metrics() -> Response:
        return Response(
            exposition(registry, await _campaign_fill(app, settings)),
            media_type=CONTENT_TYPE_LATEST,
        )

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = tidy_problem_content(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    # Added innermost first: the request context wraps everything, including CORS and 413s.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins or [],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        # Retry-After: browsers may read how long to wait after a 503.
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(RequestContextMiddleware, metrics=HttpMetrics(registry))
    # Tracing (OTEL_* variables, off by default) wraps even that, so the request's log line
    # names its trace; before the lifespan makes the database client, which the PyMongo
    # instrumentation must see made.
    tracer_provider = start_tracing(API_SERVICE_NAME, app)
    if tracer_provider is not None:
        configure_logging(json_logs=settings.json_logs, level=settings.log_level, trace_ids=True)
    app.state.tracer_provider = tracer_provider
    return app
