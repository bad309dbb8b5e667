"""Who may send first-login events: the broker-validated AMQP ``user_id`` of a message.

RabbitMQ refuses a publish whose ``user_id`` differs from the publishing connection's
user, so the property names the account that really sent the message. Anyone holding
some other broker credential (or none of the login service's) cannot forge an event
that claims a slot: it is dead-lettered unhandled.
"""

from collections.abc import Collection

from promotion_service.events.first_login import InvalidEvent

MAX_LOGGED_USER_LENGTH = 64


class UntrustedSender(InvalidEvent):
    """The message was not sent by the login service (nor by this service's hand-back)."""


def check_sender(user_id: str | None, trusted: Collection[str]) -> None:
    """Raise ``UntrustedSender`` unless ``user_id`` is one of the ``trusted`` broker users."""
    if user_id is None:
        raise UntrustedSender("untrusted sender: the message carries no user_id")
    if user_id not in trusted:
        shown = user_id[:MAX_LOGGED_USER_LENGTH]
        raise UntrustedSender(f"untrusted sender: user_id {shown!r} is not the login service")
