"""Decode and validate `account.first_login` v1 messages against the vendored JSON Schema.

The schema file is a byte-for-byte copy of docs/events/first-login.v1.schema.json (a contract
test asserts it), so the runtime applies exactly the rules the producer is tested against.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

SUPPORTED_VERSION = 1
EVENT_TYPE = "account.first_login"
MAX_ORDER = 2**63 - 1  # the producer's counter, and what MongoDB stores, are 64-bit

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    re.ASCII,
)


class InvalidEvent(Exception):
    """The message can never be handled; `reason` says why (safe to log)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FirstLoginEvent:
    event_id: str
    account_id: str
    first_login_order: int
    first_login_at: datetime
    occurred_at: datetime
    correlation_id: str | None


def _parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))


def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats constrain strings only; "type" rejects the rest
    if not _RFC3339.match(value):
        return False
    try:
        _parse_datetime(value)
    except ValueError:
        return False
    return True


@cache
def schema() -> dict[str, Any]:
    """The vendored JSON Schema of the message body."""
    text = resources.files(__package__).joinpath("first_login_v1.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> Draft202012Validator:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_rfc3339)
    return Draft202012Validator(schema(), format_checker=checker)


def _reject_constant(name: str) -> object:
    raise ValueError(f"non-standard JSON constant {name}")


def decode_first_login(body: bytes) -> FirstLoginEvent:
    """Parse one message body; raise InvalidEvent with a reason if it can never be handled."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent(f"malformed JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise InvalidEvent(f"body is a JSON {type(payload).__name__}, not an object")
    version = payload.get("version")
    if "version" in payload and (type(version) is not int or version != SUPPORTED_VERSION):
        raise InvalidEvent(f"unknown event version {version!r:.40}")
    errors = sorted(_validator().iter_errors(payload), key=lambda error: list(error.path))
    if errors:
        first = errors[0]
        where = "/".join(str(part) for part in first.path) or "(root)"
        # The rule that failed, not the validator's message: that one quotes the value.
        raise InvalidEvent(f"schema violation at {where}: {first.validator}")
    order = int(payload["first_login_order"])
    if order > MAX_ORDER:
        raise InvalidEvent("first_login_order does not fit a 64-bit integer")
    return FirstLoginEvent(
        event_id=payload["event_id"],
        account_id=payload["account_id"],
        first_login_order=order,
        first_login_at=_parse_datetime(payload["first_login_at"]),
        occurred_at=_parse_datetime(payload["occurred_at"]),
        correlation_id=payload.get("correlation_id"),
    )
