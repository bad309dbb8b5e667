"""Settings come from the environment, with the names the spec fixes."""

import pytest

from promotion_service.config import Settings


def test_fixed_environment_names_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONGODB_URI", "mongodb://db.example:27017/?replicaSet=rs0")
    monkeypatch.setenv("RABBITMQ_URL", "amqp://u:p@mq.example:5672/bank")
    monkeypatch.setenv("PROMOTION_PORT", "9001")
    monkeypatch.setenv("PROMOTION_QUEUE_TYPE", "quorum")
    monkeypatch.setenv("PROMOTION_CAMPAIGN_SLOTS", "250")

    settings = Settings()

    assert settings.mongodb_uri == "mongodb://db.example:27017/?replicaSet=rs0"
    assert settings.rabbitmq_url == "amqp://u:p@mq.example:5672/bank"
    assert settings.port == 9001
    assert settings.queue_type == "quorum"
    assert settings.campaign_slots == 250


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings()

    assert (settings.port, settings.mongodb_database) == (8001, "promotion")
    assert (settings.campaign_id, settings.campaign_slots) == ("first-login", 100)
    assert settings.campaign_discount_percent == 30
    assert settings.voucher_valid_days == 30
    assert settings.consumer_prefetch == 16
    assert settings.max_attempts == 8
    assert settings.consumer_metrics_port == 9101
    assert settings.jwks_url == "http://127.0.0.1:8000/.well-known/jwks.json"
    assert (settings.jwt_issuer, settings.jwt_audience) == ("urn:bank:login", "urn:bank:api")


def test_development_allows_local_origins_and_production_none_unless_configured() -> None:
    assert Settings().cors_origins
    assert Settings(environment="production").cors_origins == []
    configured = Settings(environment="production", cors_origins=["https://app.bank.example"])
    assert configured.cors_origins == ["https://app.bank.example"]


def test_production_refuses_the_default_broker_credentials() -> None:
    with pytest.raises(ValueError, match="guest"):
        Settings(environment="production").check_consumer_safe_for_production()
    Settings(environment="development").check_consumer_safe_for_production()
    Settings(
        environment="production", rabbitmq_url="amqp://promo:s3cret@mq:5672/"
    ).check_consumer_safe_for_production()


def test_production_logs_json() -> None:
    assert Settings(environment="production").json_logs
    assert not Settings().json_logs
    assert Settings(log_format="json").json_logs
