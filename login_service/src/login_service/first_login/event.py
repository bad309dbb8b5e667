"""The ``account.first_login`` v1 event (body schema: docs/events/first-login.v1.schema.json)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

EVENT_TYPE = "account.first_login"
EVENT_VERSION = 1


def rfc3339(moment: datetime) -> str:
    """UTC timestamp with milliseconds and a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class FirstLoginEvent:
    event_id: str
    account_id: str
    first_login_at: datetime
    first_login_order: int
    correlation_id: str | None

    @classmethod
    def new(
        cls,
        *,
        account_id: str,
        first_login_at: datetime,
        first_login_order: int,
        correlation_id: str | None,
    ) -> "FirstLoginEvent":
        return cls(
            event_id=str(uuid.uuid4()),
            account_id=account_id,
            first_login_at=first_login_at,
            first_login_order=first_login_order,
            correlation_id=correlation_id,
        )

    def body(self) -> dict[str, Any]:
        """The message body exactly as the schema describes it."""
        at = rfc3339(self.first_login_at)
        return {
            "event_id": self.event_id,
            "type": EVENT_TYPE,
            "version": EVENT_VERSION,
            "occurred_at": at,
            "account_id": self.account_id,
            "first_login_at": at,
            "first_login_order": self.first_login_order,
            "correlation_id": self.correlation_id,
        }
