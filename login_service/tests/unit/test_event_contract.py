"""The event body built by the service validates against the repository's schema."""

import json
from datetime import UTC, datetime

import jsonschema

from login_service.first_login.event import FirstLoginEvent
from tests.support import repo_root


def test_first_login_event_body_matches_the_v1_schema() -> None:
    schema = json.loads(
        (repo_root() / "docs" / "events" / "first-login.v1.schema.json").read_text()
    )
    event = FirstLoginEvent.new(
        account_id="0b6c3f0e-8f4e-4d43-9a55-0f3b4c2d1e7a",
        first_login_at=datetime(2026, 11, 25, 22, 0, 0, 123000, tzinfo=UTC),
        first_login_order=7,
        correlation_id=None,
    )

    body = event.body()

    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    assert body["first_login_at"] == body["occurred_at"] == "2026-11-25T22:00:00.123Z"
