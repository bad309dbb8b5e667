"""Application factory: ``create_app(settings)``; the lifespan owns every connection."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from login_service import __version__
from login_service.accounts.email_rekey import rekey_email_accounts
from login_service.accounts.repository import AccountRepository
from login_service.accounts.router import router as accounts_router
from login_service.accounts.service import AccountService
from login_service.auth.key_loading import load_key_set
from login_service.auth.passwords import PasswordHasher
from login_service.auth.router import router as auth_router
from login_service.auth.service import LoginService, ThrottleRules
from login_service.auth.throttle import LoginThrottle, ThrottleRule
from login_service.auth.tokens import TokenPolicy
from login_service.config import Settings, get_settings
from login_service.container import Services
from login_service.db import Collections, create_client, ensure_indexes
from login_service.first_login.recorder import FirstLoginRecorder
from login_service.health import router as health_router
from login_service.logs import configure_logging
from login_service.metrics import ServiceMetrics
from login_service.middleware import RequestContextMiddleware
from login_service.outbox.publisher import RabbitPublisher
from login_service.outbox.relay import OutboxRelay
from login_service.problems import install_problem_handlers, tidy_problem_content

log = structlog.get_logger("login_service")

DESCRIPTION = """Accounts, passwords and sessions of the bank.

Log in with **Authorize** (username, email or phone as the username). Tokens are JWTs
verifiable with the keys at `/.well-known/jwks.json`. Errors are
`application/problem+json` (RFC 9457)."""


async def build_services(settings: Settings, metrics: ServiceMetrics) -> Services:
    """Connect and wire everything; run once per worker at start-up."""
    keys = load_key_set(settings)
    mongo = create_client(settings)
    collections = Collections.of(mongo[settings.mongodb_database])
    await ensure_indexes(collections, sent_retention_days=settings.outbox_sent_retention_days)
    await rekey_email_accounts(collections.accounts)
    hasher = PasswordHasher.from_settings(settings)
    publisher = RabbitPublisher(
        settings.rabbitmq_url.get_secret_value(),
        settings.events_exchange,
        connect_timeout=5.0,
        publish_timeout=settings.outbox_publish_timeout_seconds,
    )
    relay = OutboxRelay(
        collections.outbox,
        publisher,
        poll_interval=settings.outbox_poll_interval_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        backoff_initial=settings.outbox_backoff_initial_seconds,
        backoff_max=settings.outbox_backoff_max_seconds,
        metrics=metrics,
    )
    token_policy = TokenPolicy(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    repository = AccountRepository(collections.accounts)
    throttle = LoginThrottle(collections.login_failures)
    rules = ThrottleRules(
        per_account=ThrottleRule(
            "account",
            settings.throttle_account_max_failures,
            settings.throttle_account_window_seconds,
        ),
        per_client=ThrottleRule(
            "client", settings.throttle_client_max_failures, settings.throttle_client_window_seconds
        ),
        per_account_total=ThrottleRule(
            "account_total",
            settings.throttle_account_total_max_failures,
            settings.throttle_account_total_window_seconds,
        ),
        per_account_daily=ThrottleRule(
            "account_day", settings.throttle_account_daily_max_failures, 86_400
        ),
        remembered_networks=settings.remembered_networks,
    )
    login = LoginService(
        accounts=repository,
        hasher=hasher,
        throttle=throttle,
        rules=rules,
        recorder=FirstLoginRecorder(
            mongo, collections, routing_key=settings.first_login_routing_key
        ),
        keys=keys,
        token_policy=token_policy,
        on_first_login=relay.wake,
        metrics=metrics,
        phone_region=settings.phone_default_region,
    )
    return Services(
        settings=settings,
        metrics=metrics,
        keys=keys,
        token_policy=token_policy,
        mongo=mongo,
        accounts=AccountService(
            repository,
            hasher,
            throttle=throttle,
            per_client=ThrottleRule(
                "registration",
                settings.throttle_registration_max_attempts,
                settings.throttle_registration_window_seconds,
            ),
            phone_region=settings.phone_default_region,
        ),
        login=login,
        publisher=publisher,
        relay=relay,
    )


def _document_problems_only_as_problem_json(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = tidy_problem_content(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the login API. Settings are read here (or passed in), never at import time."""
    settings = settings or get_settings()
    configure_logging(settings)
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings, metrics)
        app.state.services = services
        if settings.outbox_relay_enabled:
            await services.relay.start()
        log.info("started", environment=settings.environment, jwt_kid=services.keys.signing.kid)
        try:
            yield
        finally:
            await services.relay.stop()
            await services.publisher.close()
            await services.mongo.close()
            log.info("stopped")

    app = FastAPI(
        title="Login service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True},
    )
    install_problem_handlers(app)
    _document_problems_only_as_problem_json(app)
    app.include_router(accounts_router)
    app.include_router(auth_router)
    app.include_router(health_router)
    origins = settings.effective_cors_origins
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    # Added last, so it wraps everything: every response gets an X-Request-ID.
    app.add_middleware(
        RequestContextMiddleware, max_body_bytes=settings.max_body_bytes, metrics=metrics
    )
    return app
