"""create_app(settings): the promotion HTTP API."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from pymongo import AsyncMongoClient

from promotion_service import __version__, health
from promotion_service.campaigns.router import router as campaigns_router
from promotion_service.config import Settings, get_settings
from promotion_service.container import build_services, connect
from promotion_service.db import Document, prepare_database
from promotion_service.logs import configure_logging
from promotion_service.metrics import ApiMetrics
from promotion_service.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from promotion_service.problem_schema import document_problems_only_as_problem_json
from promotion_service.problems import install_problem_handlers
from promotion_service.startup import until_ready, watch_start
from promotion_service.tracing import API_SERVICE_NAME, start_tracing
from promotion_service.vouchers.router import router as vouchers_router

DESCRIPTION = """
Vouchers of the first-login promotion: the first accounts to log in (by the login service's
first-login order) get a discount voucher for their next purchase.

Authenticate with the access token of the login service (`Authorization: Bearer ...`).
Errors are `application/problem+json` (RFC 9457) with these members: `type`
(`urn:bank:promotion:problem:<name>`), `title`, `status`, `detail`, `instance` (the request
path), `request_id` (the response's `X-Request-ID`) and, for invalid input,
`errors: [{field, message, type}]`. A 503 carries `Retry-After`.
Money travels as decimal strings.
"""


async def _start(
    app: FastAPI,
    settings: Settings,
    metrics: ApiMetrics,
    mongo: AsyncMongoClient[Document],
    http: httpx.AsyncClient,
    stop: asyncio.Event,
) -> None:
    """Prepare the database (indexes, the default campaign), then build what requests need."""
    db = mongo[settings.mongodb_database]
    await until_ready("mongodb", partial(prepare_database, db, settings), stop)
    if stop.is_set():
        return
    app.state.services = build_services(settings, metrics, db, http)
    structlog.get_logger(__name__).info(
        "api_started", environment=settings.environment, database=db.name
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; clients are opened in the lifespan and closed after it."""
    settings = settings or get_settings()
    configure_logging(json_logs=settings.json_logs, level=settings.log_level)
    metrics = ApiMetrics()
    app = _bare_app(settings)
    app.state.metrics = metrics
    app.state.settings = settings
    install_problem_handlers(app)
    document_problems_only_as_problem_json(app)
    app.include_router(vouchers_router)
    app.include_router(campaigns_router)
    app.include_router(health.router)
    _add_middleware(app, settings, metrics)
    # Tracing (OTEL_* variables, off by default) wraps even the request context, so the
    # request's log line names its trace; before the lifespan makes the database client,
    # which the PyMongo instrumentation must see made.
    tracer_provider = start_tracing(API_SERVICE_NAME, app)
    if tracer_provider is not None:
        configure_logging(json_logs=settings.json_logs, level=settings.log_level, trace_ids=True)
    app.state.tracer_provider = tracer_provider
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the clients, start preparing in the background, close everything after."""
    settings: Settings = app.state.settings
    metrics: ApiMetrics = app.state.metrics
    # The instance serves at once (`/readyz` answers `starting`, the API 503) while its
    # start prepares the database, retried until MongoDB answers.
    mongo = connect(settings, metrics)
    http = httpx.AsyncClient(timeout=settings.jwks_timeout_seconds, follow_redirects=False)
    stop = asyncio.Event()
    start = asyncio.create_task(_start(app, settings, metrics, mongo, http, stop))
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


def _bare_app(settings: Settings) -> FastAPI:
    """The application object, with API documentation only where settings serve it.

    Swagger UI is served from the locked fastapi-offline package, never a CDN (bank networks
    often block them); no validatorUrl, so nothing is sent to swagger.io; no ReDoc, whose
    bundle fetches its logo from its vendor's CDN on every view."""
    about: dict[str, Any] = {
        "title": "Promotion service",
        "version": __version__,
        "description": DESCRIPTION,
        "lifespan": _lifespan,
    }
    if settings.serves_api_docs:
        return FastAPIOffline(redoc_url=None, swagger_ui_parameters={"validatorUrl": None}, **about)
    # Production unless told otherwise: the API's map is not the public's.
    return FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **about)


def _add_middleware(app: FastAPI, settings: Settings, metrics: ApiMetrics) -> None:
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
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
