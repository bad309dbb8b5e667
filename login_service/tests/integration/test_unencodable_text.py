"""Text that cannot be UTF-8 (a lone surrogate, JSON "\\ud800") is refused before any work.

BSON and Argon2 both need UTF-8, so such a string would fail deep inside a lookup or a
hash. Every text field of a request refuses it (``encodable_text.Utf8Text``), so every
route answers a clear 4xx: nothing written, no budget spent. (The token endpoint's form
parser already turns bytes that are not UTF-8 into U+FFFD, so there it names nobody.)
"""

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pymongo import AsyncMongoClient

from login_service.config import Settings
from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration

LONE_SURROGATE = "\ud800"
PROBLEM = "application/problem+json"


def _raw_json(body: dict[str, Any]) -> bytes:
    # json.dumps escapes the surrogate as \ud800, exactly what a client sends on the wire.
    return json.dumps(body).encode("ascii")


async def _nothing_written(mongo: AsyncMongoClient[dict[str, Any]], database: str) -> None:
    for name in ("accounts", "outbox", "login_failures"):
        assert await mongo[database][name].count_documents({}) == 0, name


@pytest.mark.parametrize("field", ["username", "email", "phone", "password", "full_name"])
async def test_registration_field_with_a_lone_surrogate_is_422_naming_it_and_spends_nothing(
    make_settings: Callable[..., Settings],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    field: str,
) -> None:
    settings = make_settings(throttle_registration_max_attempts=1)
    async with running_app(settings) as (_, client):
        body = account_payload(1)
        body[field] = f"{body[field]}{LONE_SURROGATE}"

        refused = await client.post(
            "/v1/accounts", content=_raw_json(body), headers={"content-type": "application/json"}
        )

        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert field in {error["field"] for error in refused.json()["errors"]}
        await _nothing_written(mongo, database_name)
        # The network's only registration of the window is still there to spend.
        assert (await client.post("/v1/accounts", json=account_payload(2))).status_code == 201


@pytest.mark.parametrize("field", ["identifier", "password"])
async def test_login_field_with_a_lone_surrogate_is_422_naming_it_and_writes_nothing(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    field: str,
) -> None:
    body = {"identifier": "user1", "password": TEST_PASSWORD}
    body[field] = f"{body[field]}{LONE_SURROGATE}"

    response = await client.post(
        "/v1/auth/login", content=_raw_json(body), headers={"content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == [field]
    await _nothing_written(mongo, database_name)


@pytest.mark.parametrize(
    ("field", "error"),
    [
        ("username", "invalid_grant"),
        ("password", "invalid_grant"),
        ("grant_type", "unsupported_grant_type"),
    ],
)
async def test_token_form_field_with_a_lone_surrogate_is_an_oauth2_error_not_a_500(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    field: str,
    error: str,
) -> None:
    form = {"grant_type": "password", "username": "user1", "password": TEST_PASSWORD}
    form[field] = f"{form[field]}{LONE_SURROGATE}"
    # Percent-encoded as the surrogate's own three bytes (ED A0 80), as a sloppy client would.
    # The form parser turns bytes that are not UTF-8 into U+FFFD, so the value names nobody.
    encoded = urlencode(form, errors="surrogatepass")

    response = await client.post(
        "/v1/auth/token",
        content=encoded.encode("ascii"),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"
    for name in ("accounts", "outbox"):
        assert await mongo[database_name][name].count_documents({}) == 0, name


async def test_a_token_form_that_fails_validation_is_oauth2_invalid_request(
    client: httpx.AsyncClient,
) -> None:
    # A file where the username belongs: the form cannot be read as the grant's fields.
    response = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "password": "secret"},
        files={"username": ("username.txt", b"user1")},
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"
