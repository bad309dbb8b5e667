"""Only the login service's broker user (and this service, for its hand-back copies) is trusted."""

import pytest

from promotion_service.config import Settings
from promotion_service.events.first_login import InvalidEvent
from promotion_service.events.sender import UntrustedSender, check_sender


def test_trusted_senders_are_the_login_user_and_the_consumers_own_user() -> None:
    settings = Settings(
        rabbitmq_url="amqp://promotion:secret@broker:5672/bank", trusted_publisher="login"
    )
    assert settings.trusted_senders == {"login", "promotion"}
    check_sender("login", settings.trusted_senders)
    check_sender("promotion", settings.trusted_senders)


def test_with_one_shared_user_that_user_is_the_trusted_sender(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "amqp://bank%40ops:pw@broker:5672/")
    assert Settings().trusted_senders == {"bank@ops"}


def test_own_url_takes_precedence_over_the_shared_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RABBITMQ_URL", "amqp://shared:pw@broker:5672/")
    monkeypatch.setenv("PROMOTION_RABBITMQ_URL", "amqp://promotion:pw@broker:5672/")
    assert Settings().broker_user == "promotion"


@pytest.mark.parametrize("user_id", [None, "", "guest", "LOGIN", "login ", "x" * 500])
def test_any_other_sender_is_refused_as_an_invalid_event(user_id: str | None) -> None:
    with pytest.raises(UntrustedSender, match="untrusted sender") as refused:
        check_sender(user_id, frozenset({"login", "promotion"}))
    assert isinstance(refused.value, InvalidEvent)  # so the consumer dead-letters it
    assert len(refused.value.reason) < 200
