"""Application factory: ``create_app(settings)``; the lifespan owns every connection."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from login_service import __version__
from login_service.accounts.email_rekey import rekey_email_accounts_once
from login_service.accounts.repository import AccountRepository
from login_service.accounts.router import router as accounts_router
from login_service.accounts.service import AccountService
from login_service.auth.key_loading import load_key_set
from login_service.auth.keys import KeySet, private_key_der
from login_service.auth.router import router as auth_router
from login_service.auth.service import LoginService
from login_service.auth.token_verifier import AccessTokenVerifier
from login_service.auth.tokens import SessionIssuer, TokenPolicy
from login_service.config import Settings, get_settings
from login_service.container import Services
from login_service.db import Collections, create_client, ensure_indexes
from login_service.device_cookie import DEVICE_TOKEN_HEADER
from login_service.first_login.recorder import FirstLoginRecorder
from login_service.guard.derived_keys import PSEUDO_ACCOUNTS, derive_key, guard_secrets
from login_service.guard.device_tokens import DeviceTokens, derive_device_token_key
from login_service.guard.login_guard import LoginBudgets, LoginGuard
from login_service.guard.passwords import PasswordHasher
from login_service.guard.windows import ThrottleRule, WindowStore
from login_service.health import router as health_router
from login_service.logs import configure_logging
from login_service.metrics import CommandCounter, ServiceMetrics
from login_service.middleware import RequestContextMiddleware
from login_service.outbox.publisher import RabbitPublisher
from login_service.outbox.relay import OutboxRelay
from login_service.problem_schema import tidy_problem_content
from login_service.problems import install_problem_handlers

log = structlog.get_logger("login_service")

DESCRIPTION = """Accounts, passwords and sessions of the bank.

Log in with **Authorize** (username, email or phone as the username). Tokens are JWTs
verifiable with the keys at `/.well-known/jwks.json`. Errors are
`application/problem+json` (RFC 9457)."""


def build_login_guard(settings: Settings, keys: KeySet, windows: WindowStore) -> LoginGuard:
    """Passwords, the login budgets and device tokens, from settings."""
    budgets = LoginBudgets(
        per_identifier=ThrottleRule(
            "identifier",
            settings.throttle_identifier_max_failures,
            settings.throttle_identifier_window_seconds,
        ),
        per_client=ThrottleRule(
            "client", settings.throttle_client_max_failures, settings.throttle_client_window_seconds
        ),
        per_account=ThrottleRule(
            "account",
            settings.throttle_account_total_max_failures,
            settings.throttle_account_total_window_seconds,
        ),
        per_account_daily=ThrottleRule(
            "account_day", settings.throttle_account_daily_max_failures, 86_400
        ),
        per_device=ThrottleRule(
            "device", settings.throttle_device_max_failures, settings.throttle_device_window_seconds
        ),
    )
    secret, *retired = guard_secrets(settings, private_key_der(keys.private_key))
    device_tokens = DeviceTokens(
        derive_device_token_key(secret),
        previous_keys=tuple(derive_device_token_key(old) for old in retired),
        issuer=settings.jwt_issuer,
        ttl_seconds=settings.device_token_ttl_days * 86_400,
        max_accounts=settings.device_token_max_accounts,
    )
    return LoginGuard(
        hasher=PasswordHasher.from_settings(settings),
        windows=windows,
        budgets=budgets,
        device_tokens=device_tokens,
        pseudo_account_key=derive_key(secret, PSEUDO_ACCOUNTS),
    )


async def build_services(settings: Settings, metrics: ServiceMetrics) -> Services:
    """Connect and wire everything; run once per worker at start-up."""
    keys = load_key_set(settings)
    mongo = create_client(settings, listeners=[CommandCounter(metrics.mongodb_commands)])
    collections = Collections.of(mongo[settings.mongodb_database])
    await ensure_indexes(collections, sent_retention_days=settings.outbox_sent_retention_days)
    await rekey_email_accounts_once(collections.accounts, collections.migrations)
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
    guard = build_login_guard(settings, keys, WindowStore(collections.login_failures))
    login = LoginService(
        accounts=repository,
        guard=guard,
        recorder=FirstLoginRecorder(
            mongo,
            collections,
            routing_key=settings.first_login_routing_key,
            on_recorded=relay.wake,
        ),
        sessions=SessionIssuer(keys, token_policy),
        metrics=metrics,
        phone_region=settings.phone_default_region,
    )
    accounts = AccountService(
        repository,
        guard,
        per_client=ThrottleRule(
            "registration",
            settings.throttle_registration_max_attempts,
            settings.throttle_registration_window_seconds,
        ),
        phone_region=settings.phone_default_region,
    )
    return Services(
        settings=settings,
        metrics=metrics,
        keys=keys,
        access_tokens=AccessTokenVerifier(keys, token_policy),
        mongo=mongo,
        guard=guard,
        accounts=accounts,
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

    # Swagger UI loads its scripts and styles from the locked fastapi-offline package, served
    # by this app: bank networks often block CDNs. No validatorUrl, so the page never sends
    # the document's address to swagger.io; no ReDoc, whose bundle fetches its logo from its
    # vendor's CDN on every view.
    app = FastAPIOffline(
        redoc_url=None,
        title="Login service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        swagger_ui_parameters={"persistAuthorization": True, "validatorUrl": None},
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
    return app
