"""Decode and validate `account.first_login` v1 messages against the vendored JSON Schema.

The schema file is a byte-for-byte copy of docs/events/first-login.v1.schema.json (a contract
test asserts it), so the runtime applies exactly the rules the producer is tested against.
The document is compiled once into a validating function (fastjsonschema): every message is
checked against it, and a generic interpreter of the schema cost ten times as much per event.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import fastjsonschema

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


@lru_cache(maxsize=64)
def _parse_datetime(value: str) -> datetime:
    # Cached: an event's two timestamps are one instant, each checked and then read.
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
def _validator() -> Callable[[object], object]:
    """The schema compiled to a function; it raises with every rule the payload breaks.

    Defaults are never filled in (the payload is read, not changed); "date-time" is RFC 3339
    as ``_is_rfc3339`` reads it, the other formats are the library's."""
    validate: Callable[[object], object] = fastjsonschema.compile(
        schema(), formats={"date-time": _is_rfc3339}, use_default=False, fast_fail=False
    )
    return validate


def _reject_constant(name: str) -> object:
    raise ValueError(f"non-standard JSON constant {name}")


# One decoder for every message (``json.loads`` with options builds a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _first_violation(payload: dict[str, Any]) -> str | None:
    """Where the payload breaks the schema first (by field path, the root first), and the
    rule it breaks; None if it does not. Never the value: messages may quote it."""
    try:
        _validator()(payload)
    except fastjsonschema.JsonSchemaValuesException as refused:
        errors = refused.errors
    except fastjsonschema.JsonSchemaValueException as refused:  # one error, raised alone
        errors = [refused]
    else:
        return None
    path, rule = min(((error.path[1:], error.rule or "?") for error in errors), default=([], "?"))
    return f"{'/'.join(path) or '(root)'}: {rule}"


def decode_first_login(body: bytes) -> FirstLoginEvent:
    """Parse one message body; raise InvalidEvent with a reason if it can never be handled."""
    try:
        payload = _DECODER.decode(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidEvent(f"malformed JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise InvalidEvent(f"body is a JSON {type(payload).__name__}, not an object")
    version = payload.get("version")
    if "version" in payload and (type(version) is not int or version != SUPPORTED_VERSION):
        raise InvalidEvent(f"unknown event version {version!r:.40}")
    violation = _first_violation(payload)
    if violation is not None:
        raise InvalidEvent(f"schema violation at {violation}")
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
