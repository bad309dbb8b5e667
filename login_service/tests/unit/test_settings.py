"""Settings: safe defaults, list parsing and refusals in production."""

import json
from typing import Any

import pytest
from pydantic import ValidationError

from login_service.__main__ import settings_or_exit
from login_service.config import Settings, get_settings


def test_development_defaults_allow_local_frontends_and_loopback() -> None:
    settings = Settings()
    assert settings.effective_cors_origins == ["http://localhost:3000", "http://localhost:5173"]
    assert settings.bind_host == "127.0.0.1"
    assert settings.access_token_ttl_seconds == 1800
    assert (settings.argon2_memory_cost_kib, settings.argon2_time_cost) == (19456, 2)


def test_production_refuses_to_start_with_a_development_key() -> None:
    with pytest.raises(ValidationError, match="development keys are refused"):
        Settings(environment="production", rabbitmq_url="amqp://svc:s3cret@mq:5672/")


def test_production_refuses_the_guest_broker_account() -> None:
    with pytest.raises(ValidationError, match="guest"):
        Settings(
            environment="production",
            jwt_private_key="pem",
            mongodb_uri="mongodb://svc:pw@db:27017/?tls=true",
        )


def test_production_has_no_cors_origins_unless_configured() -> None:
    settings = Settings(
        environment="production",
        mongodb_uri="mongodb://svc:pw@db:27017/?tls=true",
        jwt_private_key="pem",
        rabbitmq_url="amqp://svc:pw@mq:5672/",
        device_token_key="d" * 32,
        trusted_proxies="none",
    )
    assert settings.trusted_proxies == []
    assert settings.effective_cors_origins == []
    assert settings.effective_log_format == "json"


def test_argon2_parameters_below_the_owasp_minimum_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(argon2_memory_cost_kib=4096)


def test_list_settings_accept_commas_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGIN_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("LOGIN_TRUSTED_PROXIES", '["10.0.0.0/8", "192.168.1.1"]')
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert [str(n) for n in settings.trusted_proxies or []] == ["10.0.0.0/8", "192.168.1.1/32"]


def test_the_fixed_environment_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db:27017/?replicaSet=rs0")
    monkeypatch.setenv("RABBITMQ_URL", "amqp://u:p@mq:5672/vh")
    monkeypatch.setenv("LOGIN_PORT", "9000")
    settings = Settings()
    assert settings.mongodb_uri.get_secret_value() == "mongodb://db:27017/?replicaSet=rs0"
    assert settings.rabbitmq_url.get_secret_value() == "amqp://u:p@mq:5672/vh"
    assert settings.port == 9000


def test_the_verification_leeway_is_at_most_a_minute() -> None:
    with pytest.raises(ValidationError):
        Settings(jwt_leeway_seconds=61)


def test_the_phone_default_region_must_be_a_known_region() -> None:
    assert Settings().phone_default_region is None
    assert Settings(phone_default_region="gb").phone_default_region == "GB"
    with pytest.raises(ValidationError, match="region"):
        Settings(phone_default_region="XX")


def test_a_wildcard_cors_origin_is_refused_because_credentials_are_allowed() -> None:
    with pytest.raises(ValidationError, match="name each origin"):
        Settings(cors_origins="*")


def test_the_login_services_own_broker_url_takes_precedence_over_the_shared_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "amqp://shared:pw@broker:5672/")
    assert Settings().rabbitmq_url.get_secret_value() == "amqp://shared:pw@broker:5672/"
    monkeypatch.setenv("LOGIN_RABBITMQ_URL", "amqp://login:pw@broker:5672/")
    assert Settings().rabbitmq_url.get_secret_value() == "amqp://login:pw@broker:5672/"


def test_production_refuses_to_start_without_its_own_device_token_key() -> None:
    with pytest.raises(ValidationError, match="LOGIN_DEVICE_TOKEN_KEY"):
        Settings(
            environment="production",
            mongodb_uri="mongodb://svc:pw@db:27017/?tls=true",
            jwt_private_key="pem",
            rabbitmq_url="amqp://svc:pw@mq:5672/",
            trusted_proxies="10.0.0.0/8",
        )


def test_production_refuses_to_start_without_its_trusted_proxies_stated() -> None:
    values: dict[str, Any] = {
        "environment": "production",
        "mongodb_uri": "mongodb://svc:pw@db:27017/?tls=true",
        "jwt_private_key": "pem",
        "rabbitmq_url": "amqp://svc:pw@mq:5672/",
        "device_token_key": "d" * 32,
    }
    with pytest.raises(ValidationError, match="LOGIN_TRUSTED_PROXIES"):
        Settings(**values)
    assert Settings(**values, trusted_proxies="none").trusted_proxies == []
    assert Settings(trusted_proxies="").trusted_proxies is None  # development: none


@pytest.mark.parametrize(
    "overrides",
    [
        {"device_token_key": "too-short-a-device-secret"},
        {"device_token_key": "", "environment": "production"},
        {"device_token_previous_keys": f"{'k' * 40},too-short-a-device-secret"},
    ],
)
def test_short_device_token_keys_are_refused_without_echoing_them(
    overrides: dict[str, Any],
) -> None:
    values: dict[str, Any] = {"jwt_private_key": "pem", "rabbitmq_url": "amqp://svc:pw@mq:5672/"}
    with pytest.raises(ValidationError, match="at least 32 characters") as refused:
        Settings(**values, **overrides)
    assert "too-short" not in str(refused.value)


def test_device_token_keys_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_KEY", "c" * 32)
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_PREVIOUS_KEYS", f"{'a' * 32},{'b' * 32}")
    settings = Settings()
    assert settings.device_token_key is not None
    assert settings.device_token_key.get_secret_value() == "c" * 32
    assert [key.get_secret_value() for key in settings.device_token_previous_keys] == [
        "a" * 32,
        "b" * 32,
    ]


def test_a_refused_start_is_one_clear_line_naming_the_setting_never_its_value(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("LOGIN_ENVIRONMENT", "production")
    monkeypatch.setenv("LOGIN_RABBITMQ_URL", "amqp://svc:broker-secret-41@mq:5672/")
    monkeypatch.setenv("LOGIN_JWT_PRIVATE_KEY", "not-a-key-but-secret-77")
    monkeypatch.setenv("LOGIN_DEVICE_TOKEN_KEY", "short-secret-93")
    with pytest.raises(SystemExit) as exited:
        settings_or_exit()
    get_settings.cache_clear()
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    logged = json.loads(line)
    assert logged["event"] == "refusing_to_start"
    assert "LOGIN_DEVICE_TOKEN_KEY" in logged["reason"]
    assert "Traceback" not in line
    for secret in ("broker-secret-41", "not-a-key-but-secret-77", "short-secret-93"):
        assert secret not in line
