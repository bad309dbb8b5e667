"""Settings, read from the environment when asked for (never at import time)."""

import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import unquote, urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from promotion_service.mongo_uri import mongodb_uri_problem
from promotion_service.secret_files import SecretFilesSource
from promotion_service.tracing import tracing_config

# The broker's delivery limit stays at least this many times the application's attempts.
QUORUM_LIMIT_FACTOR = 10

DEV_CORS_ORIGINS = ["http://localhost:3000", "http://localhost:5173", "http://127.0.0.1:3000"]


def _split_list(value: Any) -> Any:
    """Accept a JSON list or a comma-separated string for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


# Unprefixed names the spec fixes (operators and scripts rely on them).
FIXED_NAMES = {"MONGODB_URI", "RABBITMQ_URL", "PROMOTION_PORT"}

# Secret settings, each with the variable names it is read from (each also as `NAME_FILE`).
SECRET_SETTINGS = {
    "mongodb_uri": ("MONGODB_URI",),
    "rabbitmq_url": ("PROMOTION_RABBITMQ_URL", "RABBITMQ_URL"),
    "shared_rabbitmq_url": ("RABBITMQ_URL",),
}


class Settings(BaseSettings):
    """Every setting of the API and the consumer; env names are PROMOTION_<FIELD> unless aliased."""

    # A refused setting may be a secret (a URL with a password): errors never echo it.
    model_config = SettingsConfigDict(
        env_prefix="PROMOTION_", extra="ignore", hide_input_in_errors=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = SecretFilesSource(settings_cls, SECRET_SETTINGS)  # each secret as `NAME_FILE`
        return init_settings, files, env_settings, dotenv_settings, file_secret_settings

    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"
    log_format: Literal["console", "json"] | None = None  # default: json in production

    # Shared infrastructure (names fixed by the spec, no prefix).
    mongodb_uri: str = Field(
        default="mongodb://127.0.0.1:27017/?directConnection=true",
        validation_alias=AliasChoices("MONGODB_URI"),
    )
    mongodb_database: str = "promotion"
    # Production requires TLS to MongoDB unless this waives it (a private network only).
    mongodb_tls_waived: bool = False
    mongodb_timeout_ms: int = Field(default=5000, ge=100)
    # This service's own broker user (PROMOTION_RABBITMQ_URL), else the shared RABBITMQ_URL.
    rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("PROMOTION_RABBITMQ_URL", "RABBITMQ_URL"),
    )
    # The shared URL itself, read only to tell whether this service's user is the shared one
    # (then, in development, the login service may be trusted without being named).
    shared_rabbitmq_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        validation_alias=AliasChoices("RABBITMQ_URL", "shared_rabbitmq_url"),
    )
    # The login service's broker user: the only sender (besides this service itself, for
    # its hand-back copies) whose events are handled. Unset: this service's own user, which
    # is right only when both services share one broker user (checked at the consumer's
    # start by check_trusted_publisher).
    trusted_publisher: str | None = None

    # HTTP API.
    host: str = "127.0.0.1"
    port: int = Field(default=8001, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    max_body_bytes: int = Field(default=16_384, ge=256)
    # PROMOTION_CORS_ORIGINS: a JSON list or comma-separated origins; empty = none.
    cors_origins: Annotated[list[str] | None, NoDecode] = None

    # Token verification against the login service's JWKS.
    jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    jwks_cache_ttl_seconds: float = Field(default=300.0, gt=0)
    jwks_min_refetch_interval_seconds: float = Field(default=10.0, ge=0)
    jwks_timeout_seconds: float = Field(default=3.0, gt=0)
    # How long keys fetched once stay trusted while the JWKS cannot be fetched again.
    jwks_max_key_age_seconds: float = Field(default=3600.0, gt=0)
    jwt_issuer: str = "urn:bank:login"
    jwt_audience: str = "urn:bank:api"
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=300)

    # The first-login campaign, created from configuration at start-up.
    campaign_id: str = "first-login"
    campaign_slots: int = Field(default=100, ge=1)
    campaign_discount_percent: int = Field(default=30, ge=1, le=100)
    voucher_valid_days: int = Field(default=30, ge=1)

    # Event contract (docs/events/topology.json), copied so the runtime needs no docs folder.
    events_exchange: str = "accounts.events"
    first_login_routing_key: str = "account.first_login.v1"
    queue_name: str = "promotion.first_login"
    queue_type: Literal["classic", "quorum"] = "classic"
    dead_letter_exchange: str = "promotion.dead_letter"
    dead_letter_queue: str = "promotion.first_login.dead"
    dead_letter_routing_key: str = "promotion.first_login"

    # Consumer behaviour.
    consumer_prefetch: int = Field(default=16, ge=1, le=1000)
    max_attempts: int = Field(default=8, ge=1, le=100)
    # Quorum queues: the broker's own x-delivery-limit. It also counts returns caused by
    # dropped connections, so it sits far above max_attempts (checked below).
    quorum_delivery_limit: int = Field(default=1000, ge=1)
    # How long the consumer trusts its reading of the campaign for the fast path.
    campaign_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    delivery_attempts_ttl_seconds: int = Field(default=86_400, ge=60)
    retry_base_delay_seconds: float = Field(default=2.0, ge=0)
    retry_max_delay_seconds: float = Field(default=60.0, ge=0)
    claim_max_transaction_attempts: int = Field(default=10, ge=1)
    shutdown_timeout_seconds: float = Field(default=30.0, gt=0)
    # The API's stop (SIGTERM): unready for this long first, so that load balancers stop
    # sending it requests (unset: 5 s in production, none in development); then at most
    # graceful_shutdown_seconds for the requests in flight.
    shutdown_drain_seconds: float | None = Field(default=None, ge=0, le=120)
    # /docs and /openapi.json, and the dependency details in /readyz's body (unset: served
    # in development, not in production, where they would map the service for anyone).
    api_docs: bool | None = None
    readiness_details: bool | None = None
    graceful_shutdown_seconds: int = Field(default=10, ge=1, le=120)
    consumer_metrics_port: int = Field(default=9101, ge=0, le=65535)
    consumer_name: str | None = None
    # A file the consume loop touches while it consumes (a container healthcheck reads its age).
    consumer_heartbeat_file: Path | None = None
    consumer_heartbeat_seconds: float = Field(default=5.0, gt=0)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _parse_origins(cls, value: Any) -> Any:
        return _split_list(value)

    @model_validator(mode="after")
    def _default_cors_origins(self) -> Self:
        if self.cors_origins is None:
            self.cors_origins = [] if self.is_production else list(DEV_CORS_ORIGINS)
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production_database(self) -> Self:
        if self.is_production:
            problem = mongodb_uri_problem(
                self.mongodb_uri,
                tls_waived=self.mongodb_tls_waived,
                waiver="PROMOTION_MONGODB_TLS_WAIVED",
            )
            if problem:
                raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _delivery_limit_margin(self) -> Self:
        if self.quorum_delivery_limit < QUORUM_LIMIT_FACTOR * self.max_attempts:
            raise ValueError(
                f"quorum_delivery_limit must be at least {QUORUM_LIMIT_FACTOR} x max_attempts"
            )
        return self

    @property
    def broker_user(self) -> str:
        """The user this service connects as (AMQP's default when the URL names none)."""
        return unquote(urlsplit(self.rabbitmq_url).username or "guest")

    @property
    def trusted_senders(self) -> frozenset[str]:
        """AMQP ``user_id``s whose messages the consumer handles."""
        return frozenset({self.trusted_publisher or self.broker_user, self.broker_user})

    def check_trusted_publisher(self) -> None:
        """Refuse a consumer that would dead-letter every genuine event (raises ValueError).

        Unset, the trusted publisher is the consumer's own user: right when both services
        share RABBITMQ_URL's user, silently wrong when the login service has a user of its own.
        Production always names it; development may leave it unset on the shared user only.
        """
        if self.trusted_publisher:
            return
        if self.is_production:
            raise ValueError(
                "PROMOTION_TRUSTED_PUBLISHER must name the login service's broker user in "
                "production (without it every first-login event would be dead-lettered)"
            )
        shared = unquote(urlsplit(self.shared_rabbitmq_url).username or "guest")
        if self.broker_user != shared:
            raise ValueError(
                f"PROMOTION_TRUSTED_PUBLISHER is unset while this consumer connects as "
                f"{self.broker_user!r}, not as RABBITMQ_URL's shared user {shared!r}: set it "
                "to the login service's broker user, or every first-login event is dead-lettered"
            )

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def serves_api_docs(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production

    @property
    def shows_readiness_details(self) -> bool:
        if self.readiness_details is not None:
            return self.readiness_details
        return not self.is_production

    @property
    def drain_seconds(self) -> float:
        if self.shutdown_drain_seconds is not None:
            return self.shutdown_drain_seconds
        return 5.0 if self.is_production else 0.0

    @property
    def json_logs(self) -> bool:
        if self.log_format is not None:
            return self.log_format == "json"
        return self.is_production

    def check_consumer_safe_for_production(self) -> None:
        """Refuse the broker's default credentials in production (raises ValueError)."""
        if not self.is_production:
            return
        parts = urlsplit(self.rabbitmq_url)
        if parts.username in (None, "", "guest") or parts.password in (None, "", "guest"):
            raise ValueError(
                "RABBITMQ_URL must not use the default guest credentials in production"
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first call."""
    return Settings()


def refusal(error: ValidationError) -> str:
    """One line naming each refused setting and why, never its value (it may be a secret)."""
    reasons = []
    for problem in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        name = where.upper()
        if name and not name.startswith("PROMOTION_") and name not in FIXED_NAMES:
            name = f"PROMOTION_{name}"
        reasons.append(f"{name}: {message}" if name else message)
    return "; ".join(reasons)


def settings_or_exit() -> Settings:
    """The settings, or exit 2 with a clear message (one JSON line on stderr) when refused."""
    try:
        tracing_config(os.environ)  # the OTEL_* variables' refusal, before anything starts
        return get_settings()
    except (ValidationError, SettingsError, ValueError) as error:
        reason = refusal(error) if isinstance(error, ValidationError) else str(error)
        line = {"event": "refusing_to_start", "reason": reason, "level": "error"}
        print(json.dumps(line | {"logger": "promotion_service"}), file=sys.stderr, flush=True)
        sys.exit(2)
