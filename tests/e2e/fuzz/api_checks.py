"""What every response of both APIs must satisfy, checked with Schemathesis and by hand."""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.fuzz.tally import TALLY

type AnyCase = schemathesis.Case[Any]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PROBLEM = "application/problem+json"
# RFC 6749 section 5.2: the token endpoint's own errors are OAuth JSON, not problems.
OAUTH_ERROR_PATHS = frozenset({"/v1/auth/token"})


def checked_call(
    scenario: str, case: AnyCase, base_url: str, headers: dict[str, str] | None = None
) -> schemathesis.Response:
    """Send `case`, then hold its response to the schema and the error format; tally it."""
    response = case.call(base_url=base_url, headers=headers, timeout=60)
    try:
        case.validate_response(response, checks=CHECKS)
        assert_problem_on_error(case.operation.path, response)
    except BaseException:
        TALLY.tried(scenario, failed=True)
        raise
    TALLY.tried(scenario)
    return response


def _header(response: schemathesis.Response, name: str) -> str:
    values = response.headers.get(name.lower()) or [""]
    return values[0]


def assert_problem_on_error(path: str, response: schemathesis.Response) -> None:
    if response.status_code < 400:
        return
    content_type = _header(response, "content-type")
    if path in OAUTH_ERROR_PATHS and response.status_code == 400:
        assert content_type == "application/json", content_type
        assert "error" in response.json()
        return
    assert content_type == PROBLEM, (response.status_code, content_type, response.text[:300])
    problem: dict[str, Any] = response.json()
    assert problem["status"] == response.status_code
    assert {"type", "title", "status"} <= set(problem)
