"""Bad input over the wire, to both APIs: a clear 4xx every time, never a 5xx, never a hang.

Sent with a raw socket where no client library would send it (repeated or oversized
headers, conflicting lengths, bytes that are not UTF-8). Where the application answers,
the answer is problem+json; where the HTTP server's own parser refuses the request first,
a plain 4xx is what HTTP servers send.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.flows import PASSWORD, log_in, register, registration
from tests.e2e.fuzz.tally import TALLY
from tests.e2e.fuzz.wire import RawResponse, raw_request
from tests.e2e.harness import StackUrls

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Target:
    name: str
    base: str
    method: str
    path: str
    auth: str | None = None


@pytest.fixture(scope="module")
def username(stack: StackUrls) -> str:
    with httpx.Client(timeout=30.0) as http:
        return register(http, stack)


@pytest.fixture(scope="module")
def targets(stack: StackUrls, username: str) -> list[Target]:
    with httpx.Client(timeout=30.0) as http:
        token = log_in(http, stack, username).token
    return [
        Target("register", stack.login, "POST", "/v1/accounts"),
        Target("login", stack.login, "POST", "/v1/auth/login"),
        Target(
            "redeem",
            stack.promotion,
            "POST",
            "/v1/vouchers/00000000-0000-0000-0000-000000000000/redeem",
            f"Bearer {token}",
        ),
    ]


def _send(target: Target, body: bytes, *headers: str) -> RawResponse:
    lines = [f"{target.method} {target.path} HTTP/1.1", "Host: test", "Connection: close"]
    if target.auth:
        lines.append(f"Authorization: {target.auth}")
    lines += list(headers)
    if not any(h.lower().startswith(("content-length:", "transfer-encoding:")) for h in headers):
        lines.append(f"Content-Length: {len(body)}")
    return raw_request(target.base, "\n".join(lines), body)


def _check(scenario: str, response: RawResponse, target: str, *, problem: bool = True) -> None:
    ok = 400 <= response.status < 500 and (
        not problem or response.headers.get("content-type") == PROBLEM
    )
    TALLY.tried(f"bad input: {scenario}", failed=not ok)
    assert 400 <= response.status < 500, (scenario, target, response.status, response.body[:300])
    if problem:
        assert response.headers.get("content-type") == PROBLEM, (scenario, target, response.headers)


JSON = "Content-Type: application/json"
NESTED = 5_000  # well inside the body limit, far beyond any parser's comfortable depth

BODIES: dict[str, tuple[bytes, tuple[str, ...]]] = {
    "huge body": (b'{"x": "' + b"a" * 2_000_000 + b'"}', (JSON,)),
    "deeply nested arrays": (b"[" * NESTED + b"]" * NESTED, (JSON,)),
    "deeply nested objects": (b'{"a":' * NESTED + b"1" + b"}" * NESTED, (JSON,)),
    "not UTF-8": (b'{"identifier": "\xff\xfe", "password": "\xc3\x28"}', (JSON,)),
    "NUL bytes": (
        json.dumps(
            {
                "username": "nul\u0000user",
                "email": "a\u0000@example.com",
                "phone": "+44\u00002079460958",
                "password": "pass\u0000word-long-enough",
                "identifier": "nul\u0000user",
                "amount": "1\u0000",
                "currency": "EUR",
                "purchase_id": "p\u0000",
            }
        ).encode(),
        (JSON,),
    ),
    "raw NUL byte": (b'{"identifier": "a\x00b", "password": "x"}', (JSON,)),
    "wrong content type": (b'{"identifier": "a", "password": "b"}', ("Content-Type: text/plain",)),
    "missing content type": (b'{"identifier": "a", "password": "b"}', ()),
    "form instead of JSON": (
        b"identifier=a&password=b",
        ("Content-Type: application/x-www-form-urlencoded",),
    ),
    "JSON with a BOM": (b'\xef\xbb\xbf{"identifier": "a", "password": "b"}', (JSON,)),
    "lone surrogate escape": (b'{"identifier": "\\ud800", "password": "b"}', (JSON,)),
    "huge number": (b'{"amount": 1e999999999, "identifier": 1e999999999}', (JSON,)),
    "empty body": (b"", (JSON,)),
}


@pytest.mark.parametrize("scenario", sorted(BODIES))
def test_bad_bodies_are_a_clear_4xx_problem(targets: list[Target], scenario: str) -> None:
    body, headers = BODIES[scenario]
    for target in targets:
        _check(scenario, _send(target, body, *headers), target.name)


def _with_a_duplicate(body: dict[str, str], key: str, earlier_value: str) -> bytes:
    """`body` as JSON, with `key` also given `earlier_value` before its own value."""
    duplicate = json.dumps(key) + ": " + json.dumps(earlier_value) + ", "
    return ("{" + duplicate + json.dumps(body)[1:]).encode()


def test_a_body_valid_but_for_a_duplicate_key_is_422_naming_the_body(
    targets: list[Target], username: str
) -> None:
    """Each body would succeed (201, 200) or reach the voucher lookup (404) without its
    duplicate: the 422 is the duplicate's, not another field's."""
    fresh = f"e2e{secrets.token_hex(5)}"
    bodies = {
        "register": _with_a_duplicate(registration(fresh), "username", f"{fresh}x"),
        "login": _with_a_duplicate(
            {"identifier": username, "password": PASSWORD}, "identifier", "someone-else"
        ),
        "redeem": _with_a_duplicate(
            {"amount": "100.00", "currency": "EUR", "purchase_id": "p-1"}, "amount", "1.00"
        ),
    }
    for target in targets:
        response = _send(target, bodies[target.name], JSON)
        _check("duplicate keys", response, target.name)
        assert response.status == 422, (target.name, response.status, response.body[:300])
        errors = json.loads(response.body)["errors"]
        assert [(e["field"], e["type"]) for e in errors] == [("body", "json_invalid")], errors


HEADER_CASES: dict[str, tuple[str, ...]] = {
    "oversized header": (JSON, "X-Filler: " + "a" * 200_000),
    "many headers": (JSON, *(f"X-H{i}: v" for i in range(2_000))),
    "repeated content type": (JSON, "Content-Type: text/plain"),
    "conflicting content lengths": (JSON, "Content-Length: 2", "Content-Length: 30"),
    "length and chunked together": (JSON, "Content-Length: 2", "Transfer-Encoding: chunked"),
    "oversized request id": (JSON, "X-Request-ID: " + "r" * 10_000),
}


@pytest.mark.parametrize("scenario", sorted(HEADER_CASES))
def test_bad_headers_are_a_clear_4xx(targets: list[Target], scenario: str) -> None:
    body = b'{"identifier": "a", "password": "b"}'
    for target in targets:
        # The HTTP server refuses some of these before the application sees them.
        _check(scenario, _send(target, body, *HEADER_CASES[scenario]), target.name, problem=False)


def test_repeated_authorization_headers_are_refused_as_unauthenticated(
    targets: list[Target], stack: StackUrls
) -> None:
    target = next(t for t in targets if t.name == "redeem")
    assert target.auth is not None
    response = raw_request(
        stack.promotion,
        "\n".join(
            [
                "GET /v1/vouchers HTTP/1.1",
                "Host: test",
                "Connection: close",
                "Authorization: Bearer not-a-token",
                f"Authorization: {target.auth}",
            ]
        ),
    )
    _check("repeated Authorization", response, "vouchers")
    # Behind the compose proxy (one address for both APIs) nginx refuses a repeated
    # Authorization itself, as a malformed request (400, problem+json); the API says 401.
    behind_the_proxy = stack.login == stack.promotion
    assert response.status in ({400, 401} if behind_the_proxy else {401}), response.status
