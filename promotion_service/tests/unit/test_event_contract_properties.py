"""The compiled validator applies the documented schema, searched by Hypothesis: a body the
runtime accepts is valid by a reference validator of the same document, and a body valid by
the reference is accepted unless one of the runtime's stated extra rules refuses it."""

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from promotion_service.events.first_login import (
    MAX_ORDER,
    InvalidEvent,
    _is_rfc3339,
    decode_first_login,
)
from tests.factories import first_login_event
from tests.unit.test_event_contract import docs_json

REFERENCE = Draft202012Validator(
    docs_json("first-login.v1.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER
)
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
# Values on either side of each rule of the schema.
EDGES: dict[str, list[Any]] = {
    "event_id": [UUID, UUID.upper(), UUID + "\n", UUID[:-1], "", 7],
    "type": ["account.first_login", "account.created", None],
    "occurred_at": ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.5+02:00", "2026-02-30T00:00:00Z"],
    "account_id": ["a", "a" * 64, "a" * 65, "", "é" * 64, 1],
    "first_login_at": ["2026-01-01t00:00:00z", "2026-01-01 00:00:00Z", "tomorrow"],
    "first_login_order": [1, 0, -1, 1.0, 2.0, 1.5, True, MAX_ORDER, MAX_ORDER + 1, "1"],
    "correlation_id": [None, "x" * 128, "x" * 129, "", 5],
}
FIELDS = sorted(EDGES)  # "version" is left alone: the runtime checks it before the schema


@st.composite
def bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event with some fields replaced (by edge or arbitrary values) or removed, and
    perhaps a field the schema does not know."""
    body = first_login_event(7)
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        change = draw(st.sampled_from(["edge", "any", "remove"]))
        if change == "remove":
            del body[field]
        else:
            body[field] = draw(st.sampled_from(EDGES[field]) if change == "edge" else json_values)
    if draw(st.booleans()) and draw(st.booleans()):
        body[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    return body


def runtime_accepts(body: dict[str, Any]) -> bool:
    try:
        decode_first_login(json.dumps(body).encode())
    except InvalidEvent:
        return False
    return True


def within_runtime_rules(body: dict[str, Any]) -> bool:
    """The runtime's rules beyond what the reference checks: RFC 3339 timestamps (the
    reference checks "date-time" only with an optional package) and a 64-bit order."""
    stamps = (body.get("occurred_at"), body.get("first_login_at"))
    order = body.get("first_login_order")
    fits = not isinstance(order, int | float) or int(order) <= MAX_ORDER
    return all(_is_rfc3339(stamp) for stamp in stamps) and fits


@settings(max_examples=600, deadline=None)
@given(body=bodies())
def test_the_runtime_accepts_exactly_what_the_documented_schema_accepts(
    body: dict[str, Any],
) -> None:
    valid = REFERENCE.is_valid(body)
    accepted = runtime_accepts(body)

    if accepted:
        assert valid, body
    if valid and within_runtime_rules(body):
        assert accepted, body
