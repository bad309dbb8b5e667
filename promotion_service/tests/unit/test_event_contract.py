"""The consumer reads exactly the contract in docs/events (schema and topology)."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from promotion_service.config import Settings
from promotion_service.consumer.topology import dead_letter_queue_arguments, queue_arguments
from promotion_service.events.first_login import InvalidEvent, decode_first_login, schema
from tests.conftest import repo_root
from tests.factories import first_login_event

DOCS = repo_root() / "docs" / "events"


def docs_json(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((DOCS / name).read_text())
    return loaded


def test_the_vendored_schema_is_the_documented_schema() -> None:
    vendored = Path(__file__).parents[2] / "src/promotion_service/events/first_login_v1.schema.json"

    assert vendored.read_bytes() == (DOCS / "first-login.v1.schema.json").read_bytes()
    assert schema() == docs_json("first-login.v1.schema.json")


def test_setting_defaults_name_the_documented_topology() -> None:
    topology = docs_json("topology.json")
    settings = Settings()

    assert settings.events_exchange == topology["exchange"]["name"]  # type: ignore[index]
    assert settings.first_login_routing_key == topology["routing_key"]
    assert settings.queue_name == topology["queue"]["name"]  # type: ignore[index]
    assert settings.dead_letter_exchange == topology["dead_letter_exchange"]["name"]  # type: ignore[index]
    assert settings.dead_letter_queue == topology["dead_letter_queue"]["name"]  # type: ignore[index]
    assert settings.dead_letter_routing_key == topology["dead_letter_queue"]["binding_key"]  # type: ignore[index]


@pytest.mark.parametrize("queue_type", ["classic", "quorum"])
def test_queue_arguments_are_the_documented_ones(queue_type: str) -> None:
    documented = docs_json("topology.json")["queue"]["arguments"][queue_type]  # type: ignore[index]

    assert queue_arguments(Settings(queue_type=queue_type)) == documented
    dead = docs_json("topology.json")["dead_letter_queue"]["arguments"][queue_type]  # type: ignore[index]
    assert dead_letter_queue_arguments(Settings(queue_type=queue_type)) == dead


VALID = [
    first_login_event(1),
    first_login_event(100, correlation_id=None),
    {k: v for k, v in first_login_event(2).items() if k != "correlation_id"},
    first_login_event(3, first_login_at="2026-01-01T09:00:00.123456+02:00"),
    first_login_event(4, account_id="a" * 64),
]
INVALID = [
    first_login_event(1, version=2),
    first_login_event(1, type="account.created"),
    first_login_event(1, first_login_order=0),
    first_login_event(1, first_login_order="1"),
    first_login_event(1, first_login_order=1.5),
    first_login_event(1, first_login_order=True),
    first_login_event(1, account_id=""),
    first_login_event(1, account_id="a" * 65),
    first_login_event(1, account_id=7),  # type: ignore[arg-type]  # deliberately not a string
    first_login_event(1, event_id="not-a-uuid"),
    first_login_event(1, event_id="6F9619FF-8B86-D011-B42D-00C04FC964FF"),
    first_login_event(1, event_id="0f8fad5b-d9cb-469f-a165-70867728950e\n"),
    first_login_event(1, correlation_id="x" * 129),
    first_login_event(1, unexpected=True),
    {k: v for k, v in first_login_event(1).items() if k != "first_login_order"},
    {k: v for k, v in first_login_event(1).items() if k != "event_id"},
    [],
    "event",
]
# Broken only in a "format": a reference validator checks these only with the optional
# RFC 3339 format package installed; the runtime always does.
INVALID_FORMAT = [
    first_login_event(1, first_login_at="2026-13-01T00:00:00Z"),
    first_login_event(1, occurred_at="tomorrow"),
    first_login_event(1, first_login_at="2026-01-01 09:00:00"),
]


def reference_accepts(instance: object) -> bool:
    checker = Draft202012Validator.FORMAT_CHECKER
    validator = Draft202012Validator(
        docs_json("first-login.v1.schema.json"), format_checker=checker
    )
    return bool(validator.is_valid(instance))


def runtime_accepts(instance: object) -> bool:
    try:
        decode_first_login(json.dumps(instance).encode())
    except InvalidEvent:
        return False
    return True


@pytest.mark.parametrize("instance", VALID)
def test_events_valid_by_the_documented_schema_are_accepted(instance: object) -> None:
    assert reference_accepts(instance)
    assert runtime_accepts(instance)


@pytest.mark.parametrize("instance", INVALID)
def test_events_invalid_by_the_documented_schema_are_refused(instance: object) -> None:
    assert not reference_accepts(instance)
    assert not runtime_accepts(instance)


@pytest.mark.parametrize("instance", INVALID_FORMAT)
def test_timestamps_that_are_not_rfc3339_are_refused(instance: object) -> None:
    assert not runtime_accepts(instance)


def test_a_valid_event_decodes_to_its_fields() -> None:
    body = first_login_event(7, account_id="acct-7")

    event = decode_first_login(json.dumps(body).encode())

    assert event.event_id == body["event_id"]
    assert event.account_id == "acct-7"
    assert event.first_login_order == 7
    assert event.first_login_at.tzinfo is not None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{", "malformed JSON"),
        (b"\xff", "malformed JSON"),
        (b'{"version": NaN}', "malformed JSON"),
        (b"[1]", "not an object"),
        (json.dumps(first_login_event(1, version=2)).encode(), "unknown event version 2"),
        (json.dumps(first_login_event(1, first_login_order="1")).encode(), "first_login_order"),
        (json.dumps(first_login_event(1, first_login_order=2**63)).encode(), "64-bit"),
    ],
)
def test_an_invalid_message_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidEvent) as refused:
        decode_first_login(body)

    assert reason in refused.value.reason


def test_a_schema_violation_names_the_field_and_rule_but_never_the_value() -> None:
    body = json.dumps(first_login_event(1, account_id="acct-" + "x" * 100)).encode()

    with pytest.raises(InvalidEvent) as refused:
        decode_first_login(body)

    assert refused.value.reason == "schema violation at account_id: maxLength"
    assert "xxxx" not in refused.value.reason
