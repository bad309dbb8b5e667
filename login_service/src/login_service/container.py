"""Everything a request needs, built once per worker in the lifespan and kept on ``app.state``."""

from dataclasses import dataclass

from pymongo import AsyncMongoClient

from login_service.accounts.email_rekey import rekey_email_accounts_once
from login_service.accounts.repository import AccountRepository
from login_service.accounts.service import AccountService
from login_service.auth.key_loading import load_key_set
from login_service.auth.keys import KeySet, private_key_der
from login_service.auth.service import LoginService
from login_service.auth.token_verifier import AccessTokenVerifier
from login_service.auth.tokens import SessionIssuer, TokenPolicy
from login_service.config import Settings
from login_service.db import Collections, Document, create_client, ensure_indexes
from login_service.first_login.recorder import FirstLoginRecorder
from login_service.guard.derived_keys import PSEUDO_ACCOUNTS, derive_key, guard_secrets
from login_service.guard.device_tokens import DeviceTokens, derive_device_token_key
from login_service.guard.login_guard import LoginBudgets, LoginGuard
from login_service.guard.passwords import PasswordHasher
from login_service.guard.windows import ThrottleRule, WindowStore
from login_service.metrics import MongoCommandCounter, ServiceMetrics
from login_service.outbox.publisher import EventPublisher, RabbitPublisher
from login_service.outbox.relay import OutboxRelay


@dataclass(slots=True)
class Services:
    settings: Settings
    metrics: ServiceMetrics
    keys: KeySet
    access_tokens: AccessTokenVerifier
    mongo: AsyncMongoClient[Document]
    hasher: PasswordHasher
    device_tokens: DeviceTokens
    accounts: AccountService
    login: LoginService
    publisher: EventPublisher
    relay: OutboxRelay

    async def close(self) -> None:
        """Stop the relay, then close the broker and database connections and hash threads."""
        await self.relay.stop()
        await self.publisher.close()
        await self.mongo.close()
        self.hasher.close()


def build_login_guard(
    settings: Settings, keys: KeySet, hasher: PasswordHasher, windows: WindowStore
) -> LoginGuard:
    """Password checks under the login budgets, from settings."""
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
    secret, _ = guard_secrets(settings, private_key_der(keys.private_key))
    return LoginGuard(
        hasher=hasher,
        windows=windows,
        budgets=budgets,
        pseudo_account_key=derive_key(secret, PSEUDO_ACCOUNTS),
        wait_seconds=settings.throttle_wait_seconds,
    )


def build_device_tokens(settings: Settings, keys: KeySet) -> DeviceTokens:
    """Device tokens issued under the current secret and read under every configured one."""
    secret, also_read = guard_secrets(settings, private_key_der(keys.private_key))
    return DeviceTokens(
        derive_device_token_key(secret),
        read_keys=tuple(derive_device_token_key(other) for other in also_read),
        issuer=settings.jwt_issuer,
        ttl_seconds=settings.device_token_ttl_days * 86_400,
        max_accounts=settings.device_token_max_accounts,
    )


async def open_services(settings: Settings, metrics: ServiceMetrics) -> Services:
    """Connect, prepare the database and wire everything, in one step (tools and benchmarks;
    the API does the same in its start, serving meanwhile)."""
    keys = load_key_set(settings)
    mongo = connect(settings, metrics)
    await prepare_database(settings, mongo)
    return build_services(settings, metrics, keys, mongo)


def connect(settings: Settings, metrics: ServiceMetrics) -> AsyncMongoClient[Document]:
    """The database client (it connects lazily), its commands counted."""
    return create_client(settings, listeners=[MongoCommandCounter(metrics)])


async def prepare_database(settings: Settings, mongo: AsyncMongoClient[Document]) -> None:
    """Indexes and the one-off email migration: what every worker ensures before serving."""
    collections = Collections.of(mongo[settings.mongodb_database])
    await ensure_indexes(collections, sent_retention_days=settings.outbox_sent_retention_days)
    await rekey_email_accounts_once(collections.accounts, collections.migrations)


def build_services(
    settings: Settings, metrics: ServiceMetrics, keys: KeySet, mongo: AsyncMongoClient[Document]
) -> Services:
    """Everything a request needs, on a prepared database."""
    collections = Collections.of(mongo[settings.mongodb_database])
    publisher = build_publisher(settings)
    relay = build_relay(settings, collections, publisher, metrics)
    token_policy = build_token_policy(settings)
    repository = AccountRepository(collections.accounts)
    hasher = PasswordHasher.from_settings(settings, metrics)
    windows = WindowStore(collections.login_failures)
    tokens = build_device_tokens(settings, keys)
    login = LoginService(
        accounts=repository,
        guard=build_login_guard(settings, keys, hasher, windows),
        device_tokens=tokens,
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
    return Services(
        settings=settings,
        metrics=metrics,
        keys=keys,
        access_tokens=AccessTokenVerifier(keys, token_policy),
        mongo=mongo,
        hasher=hasher,
        device_tokens=tokens,
        accounts=build_account_service(settings, repository, hasher, windows, tokens),
        login=login,
        publisher=publisher,
        relay=relay,
    )


def build_publisher(settings: Settings) -> RabbitPublisher:
    """The broker connection the outbox relay publishes through (it connects lazily)."""
    return RabbitPublisher(
        settings.rabbitmq_url.get_secret_value(),
        settings.events_exchange,
        connect_timeout=5.0,
        publish_timeout=settings.outbox_publish_timeout_seconds,
    )


def build_relay(
    settings: Settings, collections: Collections, publisher: EventPublisher, metrics: ServiceMetrics
) -> OutboxRelay:
    """The outbox relay, paced by settings (started by the lifespan, if enabled)."""
    return OutboxRelay(
        collections.outbox,
        publisher,
        metrics=metrics,
        poll_interval=settings.outbox_poll_interval_seconds,
        lease_seconds=settings.outbox_lease_seconds,
        backoff_initial=settings.outbox_backoff_initial_seconds,
        backoff_max=settings.outbox_backoff_max_seconds,
    )


def build_token_policy(settings: Settings) -> TokenPolicy:
    """What access tokens say and how long they live: shared by issuing and verifying."""
    return TokenPolicy(
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        leeway_seconds=settings.jwt_leeway_seconds,
    )


def build_account_service(
    settings: Settings,
    repository: AccountRepository,
    hasher: PasswordHasher,
    windows: WindowStore,
    tokens: DeviceTokens,
) -> AccountService:
    """Registration and account reads, under the registration budget."""
    return AccountService(
        repository,
        hasher=hasher,
        windows=windows,
        device_tokens=tokens,
        per_client=ThrottleRule(
            "registration",
            settings.throttle_registration_max_attempts,
            settings.throttle_registration_window_seconds,
        ),
        phone_region=settings.phone_default_region,
    )
