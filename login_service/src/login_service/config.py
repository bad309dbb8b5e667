"""Settings of the login service, read from the environment (prefix ``LOGIN_``)."""

import ipaddress
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from login_service.mongo_uri import mongodb_uri_problem
from login_service.secret_files import SecretFilesSource

Environment = Literal["development", "production"]
JwtAlgorithm = Literal["RS256", "PS256", "ES256", "EdDSA"]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# OWASP Password Storage Cheat Sheet, Argon2id minimum configuration.
ARGON2_MIN_MEMORY_KIB = 19456
ARGON2_MIN_TIME_COST = 2
ARGON2_MIN_PARALLELISM = 1

DEVICE_KEY_MIN_CHARS = 32

DEV_CORS_ORIGINS = ("http://localhost:3000", "http://localhost:5173")


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
FIXED_NAMES = {"MONGODB_URI", "RABBITMQ_URL", "LOGIN_PORT"}

# Secret settings, each with the variable names it is read from (each also as `NAME_FILE`).
SECRET_SETTINGS = {
    "mongodb_uri": ("MONGODB_URI",),
    "rabbitmq_url": ("LOGIN_RABBITMQ_URL", "RABBITMQ_URL"),
    "device_token_key": ("LOGIN_DEVICE_TOKEN_KEY",),
    "device_token_previous_keys": ("LOGIN_DEVICE_TOKEN_PREVIOUS_KEYS",),
    "device_token_next_keys": ("LOGIN_DEVICE_TOKEN_NEXT_KEYS",),
}


class Settings(BaseSettings):
    """Every setting of the login service. Built once per app and passed in."""

    # A refused setting may be a secret (a key, a URL with a password): errors never echo it.
    model_config = SettingsConfigDict(
        env_prefix="LOGIN_", extra="ignore", populate_by_name=True, hide_input_in_errors=True
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
        # Each secret may come from a file (`NAME_FILE`); the signing key has its own setting
        # for that already (LOGIN_JWT_PRIVATE_KEY_FILE).
        files = SecretFilesSource(settings_cls, SECRET_SETTINGS)
        return init_settings, files, env_settings, dotenv_settings, file_secret_settings

    environment: Environment = "development"
    host: str | None = None
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=2, ge=1, le=64)

    mongodb_uri: SecretStr = Field(
        default=SecretStr("mongodb://127.0.0.1:27017/?directConnection=true"),
        validation_alias=AliasChoices("MONGODB_URI", "mongodb_uri"),
    )
    mongodb_database: str = "login"
    # Production requires TLS to MongoDB unless this waives it (a private network only).
    mongodb_tls_waived: bool = False
    mongodb_timeout_ms: int = Field(default=5000, ge=100)

    # This service's own broker user (LOGIN_RABBITMQ_URL), else the shared RABBITMQ_URL.
    rabbitmq_url: SecretStr = Field(
        default=SecretStr("amqp://guest:guest@127.0.0.1:5672/"),
        validation_alias=AliasChoices("LOGIN_RABBITMQ_URL", "RABBITMQ_URL", "rabbitmq_url"),
    )
    events_exchange: str = "accounts.events"
    first_login_routing_key: str = "account.first_login.v1"

    jwt_issuer: str = "urn:bank:login"
    jwt_audience: str = "urn:bank:api"
    jwt_algorithm: JwtAlgorithm = "RS256"
    jwt_private_key: SecretStr | None = None
    jwt_private_key_file: Path | None = None
    jwt_previous_public_keys_files: Annotated[list[str], NoDecode] = []
    # Keys published (JWKS) and accepted before any replica signs with them: the first step
    # of a rotation under traffic (docs/operations.md, "Signing key rotation").
    jwt_next_public_keys_files: Annotated[list[str], NoDecode] = []
    # Clock skew tolerated when verifying; a minute at most, so expiry stays meaningful.
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=60)
    access_token_ttl_seconds: int = Field(default=1800, ge=60, le=86400)
    dev_key_dir: Path = Path(".dev-keys")

    argon2_memory_cost_kib: int = Field(default=ARGON2_MIN_MEMORY_KIB, ge=ARGON2_MIN_MEMORY_KIB)
    argon2_time_cost: int = Field(default=ARGON2_MIN_TIME_COST, ge=ARGON2_MIN_TIME_COST)
    argon2_parallelism: int = Field(default=ARGON2_MIN_PARALLELISM, ge=ARGON2_MIN_PARALLELISM)
    # Hashes computed at once per process (its own threads); unset: CPUs / workers, at least 1.
    argon2_threads: int | None = Field(default=None, ge=1, le=256)
    # Password checks that may wait for the hashing threads: this many seconds of the
    # process's hashing; beyond it a login is refused at once with 503 and Retry-After.
    verification_queue_seconds: float = Field(default=5.0, ge=1.0, le=20.0)

    # How long a login may wait for a place among the attempts in flight of its budgets
    # before it is refused with 429 (the proxy's read timeout is 30 s).
    throttle_wait_seconds: float = Field(default=10.0, ge=0.0, le=20.0)
    # Failed logins (plus attempts in flight) per typed identifier from one client network.
    throttle_identifier_max_failures: int = Field(default=5, ge=1)
    throttle_identifier_window_seconds: int = Field(default=900, ge=1)
    # Failed logins per client network, whatever the identifiers.
    throttle_client_max_failures: int = Field(default=20, ge=1)
    throttle_client_window_seconds: int = Field(default=900, ge=1)
    # Failed logins per account from clients without a device token naming it.
    throttle_account_total_max_failures: int = Field(default=50, ge=1)
    throttle_account_total_window_seconds: int = Field(default=900, ge=1)
    # The same per day: a slow, distributed guesser gets at most this many guesses a day.
    throttle_account_daily_max_failures: int = Field(default=100, ge=1)
    # Failed logins per trusted device (a valid device token naming the account).
    throttle_device_max_failures: int = Field(default=10, ge=1)
    throttle_device_window_seconds: int = Field(default=900, ge=1)
    # Registrations (201 or 409) per client network: Argon2 work and an existence oracle.
    throttle_registration_max_attempts: int = Field(default=20, ge=1)
    throttle_registration_window_seconds: int = Field(default=3600, ge=1)
    # Device tokens: lifetime, and how many accounts one names (most recent kept).
    device_token_ttl_days: int = Field(default=365, ge=1, le=400)
    device_token_max_accounts: int = Field(default=5, ge=1, le=20)
    # The device tokens' own secret (at least 32 characters), so that rotating the signing
    # key keeps every device trusted. Unset (development only): derived from the signing key.
    device_token_key: SecretStr | None = None
    # Retired device-token secrets: tokens under them are still read, never issued.
    device_token_previous_keys: Annotated[list[SecretStr], NoDecode] = []
    # Upcoming device-token secrets: tokens under them are read, never issued, so that every
    # replica trusts them before any replica issues them (a rotation's first step).
    device_token_next_keys: Annotated[list[SecretStr], NoDecode] = []
    # Proxies whose X-Forwarded-For is believed; "none" states that there are none. Unset
    # means the same in development and is refused in production, where a forgotten load
    # balancer would make every client one (and one network's failures refuse them all).
    trusted_proxies: Annotated[list[IpNetwork] | None, NoDecode] = None

    phone_default_region: str | None = Field(
        default=None,
        description="ISO 3166 region for phone numbers written without '+' (e.g. GB); "
        "unset: international format only",
    )

    max_body_bytes: int = Field(default=16 * 1024, ge=1024)
    cors_origins: Annotated[list[str] | None, NoDecode] = None

    # The API's stop (SIGTERM): unready for this long first, so that load balancers stop
    # sending it requests (unset: 5 s in production, none in development); then at most
    # graceful_shutdown_seconds for the requests in flight.
    shutdown_drain_seconds: float | None = Field(default=None, ge=0, le=120)
    # /docs and /openapi.json, and the dependency details in /readyz's body (unset: served
    # in development, not in production, where they would map the service for anyone).
    api_docs: bool | None = None
    readiness_details: bool | None = None
    graceful_shutdown_seconds: int = Field(default=10, ge=1, le=120)

    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"

    outbox_relay_enabled: bool = True
    outbox_poll_interval_seconds: float = Field(default=1.0, gt=0)
    outbox_lease_seconds: float = Field(default=30.0, gt=0)
    outbox_backoff_initial_seconds: float = Field(default=1.0, gt=0)
    outbox_backoff_max_seconds: float = Field(default=60.0, gt=0)
    outbox_publish_timeout_seconds: float = Field(default=10.0, gt=0)
    outbox_sent_retention_days: int = Field(default=7, ge=1)
    readiness_requires_broker: bool = False

    @field_validator(
        "jwt_previous_public_keys_files",
        "jwt_next_public_keys_files",
        "cors_origins",
        "device_token_previous_keys",
        "device_token_next_keys",
        mode="before",
    )
    @classmethod
    def _parse_list(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("cors_origins")
    @classmethod
    def _named_origins_only(cls, value: list[str] | None) -> list[str] | None:
        # Credentialed CORS (the device cookie) with a wildcard would let any site log in
        # as the browser's device; each origin must be named.
        if value and "*" in value:
            raise ValueError("cors_origins must name each origin; '*' is refused")
        return value

    @field_validator("jwt_private_key_file", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: Any) -> Any:
        # An empty setting (`LOGIN_JWT_PRIVATE_KEY_FILE=`) is no file, never the folder ".".
        return None if value is None or str(value).strip() == "" else value

    @field_validator("jwt_private_key_file")
    @classmethod
    def _readable_key_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("names no file (the signing key's PEM file, a mounted secret)")
        return value

    @field_validator("device_token_key", "device_token_previous_keys", "device_token_next_keys")
    @classmethod
    def _long_device_keys(cls, value: Any) -> Any:
        keys = value if isinstance(value, list) else [value]
        if any(k is not None and len(k.get_secret_value()) < DEVICE_KEY_MIN_CHARS for k in keys):
            raise ValueError(f"a device token key needs at least {DEVICE_KEY_MIN_CHARS} characters")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str) and value.strip().lower() == "none":
            return []
        items = _split_list(value)
        return [ipaddress.ip_network(item, strict=False) for item in items]

    @field_validator("phone_default_region", mode="before")
    @classmethod
    def _known_region(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        region = str(value).strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"phone_default_region {region!r} is not a known region code")
        return region

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.environment != "production":
            return self
        if self.jwt_private_key is None and self.jwt_private_key_file is None:
            raise ValueError(
                "production mode needs LOGIN_JWT_PRIVATE_KEY or LOGIN_JWT_PRIVATE_KEY_FILE; "
                "development keys are refused"
            )
        uri_problem = mongodb_uri_problem(
            self.mongodb_uri.get_secret_value(),
            tls_waived=self.mongodb_tls_waived,
            waiver="LOGIN_MONGODB_TLS_WAIVED",
        )
        if uri_problem:
            raise ValueError(uri_problem)
        broker = urlsplit(self.rabbitmq_url.get_secret_value())
        if broker.username in (None, "", "guest") or broker.password in (None, "", "guest"):
            raise ValueError("production mode refuses the default guest broker credentials")
        if self.trusted_proxies is None:
            raise ValueError(
                "production mode needs LOGIN_TRUSTED_PROXIES: the networks of the proxies and "
                "load balancers whose X-Forwarded-For is believed, or 'none'"
            )
        if self.device_token_key is None:
            raise ValueError(
                "production mode needs LOGIN_DEVICE_TOKEN_KEY (a random secret of at least "
                f"{DEVICE_KEY_MIN_CHARS} characters), so that a signing-key rotation keeps "
                "devices trusted"
            )
        return self

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
    def bind_host(self) -> str:
        """Interface to listen on; loopback unless configured."""
        return self.host or "127.0.0.1"

    @property
    def effective_cors_origins(self) -> list[str]:
        if self.cors_origins is not None:
            return self.cors_origins
        return [] if self.is_production else list(DEV_CORS_ORIGINS)

    @property
    def effective_log_format(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "console"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read on first use (never at import time)."""
    return Settings()
