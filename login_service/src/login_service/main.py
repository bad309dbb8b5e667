"""Application factory: ``create_app(settings)``; the lifespan owns every connection."""

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from pymongo import AsyncMongoClient

from login_service import __version__
from login_service.accounts.router import router as accounts_router
from login_service.auth.key_loading import load_key_set
from login_service.auth.keys import KeySet
from login_service.auth.router import router as auth_router
from login_service.config import Settings, get_settings
from login_service.container import Services, build_services, connect, prepare_database
from login_service.db import Document
from login_service.device_cookie import DEVICE_TOKEN_HEADER
from login_service.health import router as health_router
from login_service.logs import configure_logging
from login_service.metrics import ServiceMetrics
from login_service.middleware import RequestContextMiddleware
from login_service.problem_schema import document_problems_only_as_problem_json
from login_service.problems import install_problem_handlers
from login_service.startup import until_ready, watch_start
from login_service.tracing import start_tracing

log = structlog.get_logger("login_service")

DESCRIPTION = """Accounts, passwords and sessions of the bank.

Log in with **Authorize** (username, email or phone as the username). Tokens are JWTs
verifiable with the keys at `/.well-known/jwks.json`. Errors are
`application/problem+json` (RFC 9457)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the login API. Settings are read here (or passed in), never at import time."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = ServiceMetrics()
    app = _new_app(settings, _lifespan(settings, metrics))
    app.state.metrics = metrics
    app.state.settings = settings
    install_problem_handlers(app)
    document_problems_only_as_problem_json(app)
    app.include_router(accounts_router)
    app.include_router(auth_router)
    app.include_router(health_router)
    _add_middleware(app, settings, metrics)
    # Tracing (OTEL_* variables, off by default) wraps even the middleware, so the request's
    # log line names its trace. Before the lifespan makes the database client, which the
    # PyMongo instrumentation must see made.
    tracer_provider = start_tracing(app)
    if tracer_provider is not None:
        configure_logging(settings, trace_ids=True)
    app.state.tracer_provider = tracer_provider
    return app


def _lifespan(
    settings: Settings, metrics: ServiceMetrics
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Keys first: one that does not load fails the worker's start (a broken deployment).
    Then the instance serves at once (``/readyz`` answers ``starting``, the API 503) while
    its start prepares the database, retried until MongoDB answers."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys = load_key_set(settings)
        mongo = connect(settings, metrics)
        stop = asyncio.Event()
        start = asyncio.create_task(_start(app, settings, metrics, keys, mongo, stop))
        watch_start(app, start)
        try:
            yield
        finally:
            stop.set()
            start.cancel()
            await asyncio.gather(start, return_exceptions=True)
            await _close(app, mongo)

    return lifespan


async def _start(
    app: FastAPI,
    settings: Settings,
    metrics: ServiceMetrics,
    keys: KeySet,
    mongo: AsyncMongoClient[Document],
    stop: asyncio.Event,
) -> None:
    """Prepare the database, then build what requests need and start the outbox relay."""
    if not await until_ready("mongodb", partial(prepare_database, settings, mongo), stop):
        return
    services = build_services(settings, metrics, keys, mongo)
    app.state.services = services
    if settings.outbox_relay_enabled:
        await services.relay.start()
    log.info("started", environment=settings.environment, jwt_kid=keys.signing.kid)


async def _close(app: FastAPI, mongo: AsyncMongoClient[Document]) -> None:
    """Close what the start opened (everything, or only the database client if it did not
    finish), then flush the last spans."""
    services: Services | None = getattr(app.state, "services", None)
    if services is not None:
        await services.close()
    else:
        await mongo.close()
    log.info("stopped")
    if app.state.tracer_provider is not None:
        app.state.tracer_provider.force_flush()  # the last spans, before the exit


def _new_app(
    settings: Settings, lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]]
) -> FastAPI:
    """The application, with its API documentation only where settings serve it.

    Swagger UI loads its scripts and styles from the locked fastapi-offline package, served
    by this app: bank networks often block CDNs. No validatorUrl, so the page never sends
    the document's address to swagger.io; no ReDoc, whose bundle fetches its logo from its
    vendor's CDN on every view."""
    about: dict[str, Any] = {
        "title": "Login service",
        "version": __version__,
        "description": DESCRIPTION,
        "lifespan": lifespan,
    }
    if settings.serves_api_docs:
        return FastAPIOffline(
            redoc_url=None,
            swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
            **about,
        )
    # Production unless told otherwise: the API's map is not the public's.
    return FastAPI(openapi_url=None, docs_url=None, redoc_url=None, **about)


def _add_middleware(app: FastAPI, settings: Settings, metrics: ServiceMetrics) -> None:
    """CORS for the configured origins, then the request context around everything."""
    origins = settings.effective_cors_origins
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            # The device cookie travels with credentialed requests from these origins.
            allow_credentials=True,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", DEVICE_TOKEN_HEADER],
            # The device token stays out of reach of page scripts (the HttpOnly cookie's
            # point); clients that read the header are not browsers and ignore CORS.
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Added last, so it wraps everything: every response gets an X-Request-ID.
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics
    )
