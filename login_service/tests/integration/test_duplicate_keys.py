"""A JSON body that repeats a key is refused with the 422 validation problem naming the body,
even when both values are valid, and nothing is written (SPEC section 5)."""

import json
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, account_payload

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
JSON = {"content-type": "application/json"}


def with_a_duplicate(body: dict[str, Any], key: str, earlier_value: Any) -> bytes:
    """``body`` as JSON, with ``key`` also given ``earlier_value`` before its own value."""
    return (
        "{" + json.dumps(key) + ": " + json.dumps(earlier_value) + ", " + json.dumps(body)[1:]
    ).encode()


def assert_duplicate_key_problem(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith(":validation-error")
    assert problem["errors"] == [
        {
            "field": "body",
            "message": "body has a duplicate key in a JSON object",
            "type": "json_invalid",
        }
    ]


@pytest.mark.parametrize(
    ("key", "earlier_value"),
    [("username", "user2"), ("email", "user2@example.com"), ("password", TEST_PASSWORD + "!")],
)
async def test_a_registration_valid_but_for_a_duplicate_key_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    key: str,
    earlier_value: Any,
) -> None:
    body = with_a_duplicate(account_payload(1), key, earlier_value)

    response = await client.post("/v1/accounts", content=body, headers=JSON)

    assert_duplicate_key_problem(response)
    assert await mongo[database_name]["accounts"].count_documents({}) == 0


async def test_a_login_valid_but_for_a_duplicate_key_is_422_and_logs_nobody_in(
    client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
    login = {"identifier": "user1", "password": TEST_PASSWORD}

    duplicated_identifier = await client.post(
        "/v1/auth/login", content=with_a_duplicate(login, "identifier", "someone"), headers=JSON
    )
    duplicated_password = await client.post(
        "/v1/auth/login", content=with_a_duplicate(login, "password", "a guess"), headers=JSON
    )

    assert_duplicate_key_problem(duplicated_identifier)
    assert_duplicate_key_problem(duplicated_password)
    account = await mongo[database_name]["accounts"].find_one({})
    assert account is not None
    assert account.get("first_login_at") is None
    assert await mongo[database_name]["outbox"].count_documents({}) == 0


async def test_malformed_json_names_the_body_with_the_parsers_reason(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/auth/login", content=b'{"identifier": "x", ', headers=JSON)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "body"
    assert error["type"] == "json_invalid"
    assert error["message"].startswith("Expecting")
