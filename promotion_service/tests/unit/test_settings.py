"""Settings come from the environment, with the names the spec fixes."""

import os
import subprocess
import sys

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
    assert (
        Settings(
            environment="production", mongodb_uri="mongodb://svc:pw@db:27017/?tls=true"
        ).cors_origins
        == []
    )
    configured = Settings(
        environment="production",
        mongodb_uri="mongodb://svc:pw@db:27017/?tls=true",
        cors_origins=["https://app.bank.example"],
    )
    assert configured.cors_origins == ["https://app.bank.example"]


def test_production_refuses_the_default_broker_credentials() -> None:
    with pytest.raises(ValueError, match="guest"):
        Settings(
            environment="production", mongodb_uri="mongodb://svc:pw@db:27017/?tls=true"
        ).check_consumer_safe_for_production()
    Settings(environment="development").check_consumer_safe_for_production()
    Settings(
        environment="production",
        mongodb_uri="mongodb://svc:pw@db:27017/?tls=true",
        rabbitmq_url="amqp://promo:s3cret@mq:5672/",
    ).check_consumer_safe_for_production()


def test_production_logs_json() -> None:
    assert Settings(
        environment="production", mongodb_uri="mongodb://svc:pw@db:27017/?tls=true"
    ).json_logs
    assert not Settings().json_logs
    assert Settings(log_format="json").json_logs


def test_production_consumer_needs_the_login_services_user_named() -> None:
    production = Settings(
        environment="production",
        mongodb_uri="mongodb://svc:pw@db:27017/?tls=true",
        rabbitmq_url="amqp://promo:s3cret@mq:5672/",
    )
    with pytest.raises(ValueError, match="PROMOTION_TRUSTED_PUBLISHER"):
        production.check_trusted_publisher()
    named = production.model_copy(update={"trusted_publisher": "login-service"})
    named.check_trusted_publisher()
    assert named.trusted_senders == {"login-service", "promo"}


def test_development_may_leave_the_publisher_unset_on_the_shared_user_only() -> None:
    shared = "amqp://bank:pw@mq:5672/"
    Settings(rabbitmq_url=shared, shared_rabbitmq_url=shared).check_trusted_publisher()
    own_user = Settings(rabbitmq_url="amqp://promo:pw@mq:5672/", shared_rabbitmq_url=shared)
    with pytest.raises(ValueError, match="'promo', not as RABBITMQ_URL's shared user 'bank'"):
        own_user.check_trusted_publisher()
    own_user.model_copy(update={"trusted_publisher": "login"}).check_trusted_publisher()


def test_the_shared_user_is_read_from_rabbitmq_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "amqp://bank:pw@mq:5672/")
    Settings().check_trusted_publisher()  # the consumer uses RABBITMQ_URL's own user
    monkeypatch.setenv("PROMOTION_RABBITMQ_URL", "amqp://promo:pw@mq:5672/")
    with pytest.raises(ValueError, match="PROMOTION_TRUSTED_PUBLISHER is unset"):
        Settings().check_trusted_publisher()


@pytest.mark.parametrize("environment", ["production", "development"])
def test_the_consumer_refuses_to_start_without_a_publisher_its_user_cannot_be(
    environment: str,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMOTION_", "RABBITMQ_"))}
    env.update(
        PROMOTION_ENVIRONMENT=environment,
        MONGODB_URI="mongodb://svc:s3cret@127.0.0.1:1/?tls=true",
        RABBITMQ_URL="amqp://bank:s3cret@127.0.0.1:1/",
        PROMOTION_RABBITMQ_URL="amqp://promo:s3cret@127.0.0.1:1/",
        PROMOTION_CONSUMER_METRICS_PORT="0",
        PROMOTION_LOG_FORMAT="json",
    )
    result = subprocess.run(
        [sys.executable, "-m", "promotion_service.consumer"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "refusing_to_start" in output
    assert "PROMOTION_TRUSTED_PUBLISHER" in output
    assert "s3cret" not in output
