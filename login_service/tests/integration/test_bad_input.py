"""Every bad input gets a clear 4xx problem and writes nothing (SPEC section 5)."""

from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


async def _nothing_written(mongo: AsyncMongoClient[dict[str, Any]], database: str) -> None:
    for name in ("accounts", "outbox"):
        assert await mongo[database][name].count_documents({}) == 0, name
    assert await mongo[database]["counters"].count_documents({"value": {"$gt": 0}}) == 0


async def test_oversized_body_is_413_problem_and_writes_nothing(
    client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    body = account_payload(1, full_name="x" * 20_000)

    response = await client.post("/v1/accounts", json=body)

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-request-id"]
    await _nothing_written(mongo, database_name)


async def test_oversized_chunked_body_without_length_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> Any:
        for _ in range(40):
            yield b"x" * 1024

    response = await client.post(
        "/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": 123}, "username"),
        ({"email": ["a@example.com"]}, "email"),
        ({"phone": 442070000001}, "phone"),
        ({"password": None}, "password"),
        ({"birthday": "not-a-date"}, "birthday"),
        ({"birthday": "2999-01-01"}, "birthday"),
        ({"birthday": "1850-01-01"}, "birthday"),
        ({"username": "ab"}, "username"),
        ({"username": "1user"}, "username"),
        ({"username": "user\u200bone"}, "username"),
        ({"username": "user\u0000one"}, "username"),
        ({"username": "us\u202eer"}, "username"),
        ({"username": "user name"}, "username"),
        ({"username": "üser"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a\u200b@example.com"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "+44 20 7000 000\u200b1"}, "phone"),
        ({"full_name": "Eve\u202eevil"}, "full_name"),
        ({"full_name": "line\nbreak"}, "full_name"),
        ({"password": "short"}, "password"),
        ({"password": "x" * 129 + "yZ1!"}, "password"),
        ({"password": "my user1 is great"}, "password"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "password"),
        ({"unexpected": "field"}, "unexpected"),
    ],
)
async def test_invalid_registration_is_422_naming_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = await client.post("/v1/accounts", json=account_payload(1, **overrides))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422
    assert field in {error["field"] for error in problem["errors"]}
    await _nothing_written(mongo, database_name)


async def test_validation_errors_never_echo_the_submitted_password(
    client: httpx.AsyncClient,
) -> None:
    secret = "user1-Secret-Sauce-42"

    response = await client.post("/v1/accounts", json=account_payload(1, password=secret))

    assert response.status_code == 422
    assert secret not in response.text


async def test_malformed_json_and_wrong_login_types_are_422(client: httpx.AsyncClient) -> None:
    malformed = await client.post(
        "/v1/auth/login",
        content=b'{"identifier": "x", ',
        headers={"content-type": "application/json"},
    )
    wrong_types = await client.post("/v1/auth/login", json={"identifier": 5, "password": True})
    missing = await client.post("/v1/auth/login", json={"identifier": "user1"})

    assert [malformed.status_code, wrong_types.status_code, missing.status_code] == [422] * 3
    assert all(r.headers["content-type"] == PROBLEM for r in (malformed, wrong_types, missing))


async def test_fullwidth_username_is_the_same_account_as_its_ascii_form(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201

    response = await client.post(
        "/v1/accounts", json=account_payload(2, username="\uff35\uff33\uff25\uff32\uff11")
    )

    assert response.status_code == 409
    assert response.json()["field"] == "username"


async def test_unknown_routes_and_methods_are_problems_without_internals(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/v1/nowhere")
    wrong_method = await client.delete("/v1/accounts")

    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    for response in (missing, wrong_method):
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["x-request-id"]
        assert "Traceback" not in response.text


async def test_login_with_an_oversized_password_is_refused_without_hashing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD * 100}
    )

    assert response.status_code == 422


async def test_lone_surrogates_in_json_are_422_not_500(client: httpx.AsyncClient) -> None:
    body = b'{"identifier": "\\ud800abc", "password": "irrelevant-password"}'

    response = await client.post(
        "/v1/auth/login", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 422


@pytest.mark.parametrize(
    "form",
    [
        b"grant_type=password&username=%ED%A0%80&password=abcdefghijklmn",
        b"grant_type=password&username=a%00b&password=%FF%FE",
    ],
)
async def test_undecodable_or_nul_bytes_in_the_token_form_are_a_plain_invalid_grant(
    client: httpx.AsyncClient, form: bytes
) -> None:
    response = await client.post(
        "/v1/auth/token",
        content=form,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("path", ["/v1/accounts", "/v1/auth/login"])
@pytest.mark.parametrize(
    "raw", [b"null", b"[]", b"[1, 2]", b"42", b'"text"', b"true", b'{"a": {"b": [1, {}]}}']
)
async def test_any_json_shape_other_than_the_object_is_a_422_problem(
    client: httpx.AsyncClient, path: str, raw: bytes
) -> None:
    response = await client.post(path, content=raw, headers={"content-type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "value", [None, [], ["x"], 1, 1.5, True, {"a": "b"}, {"$gt": ""}, "x" * 10_000]
)
async def test_any_wrong_value_in_any_registration_field_is_422_and_writes_nothing(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    value: Any,
) -> None:
    for field in ("username", "email", "phone", "password"):
        response = await client.post("/v1/accounts", json=account_payload(1, **{field: value}))
        assert response.status_code == 422, (field, response.text)
        assert field in {error["field"].split(".")[0] for error in response.json()["errors"]}
    await _nothing_written(mongo, database_name)


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "password": "Form-Secret-Pass-1"}, "invalid_request"),
        ({"username": "user1", "password": "Form-Secret-Pass-1"}, "invalid_request"),
        ({"grant_type": "password", "username": "user1"}, "invalid_request"),
        (
            {"grant_type": "implicit", "username": "user1", "password": "Form-Secret-Pass-1"},
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "password", "username": "u" * 400, "password": "Form-Secret-Pass-1"},
            "invalid_request",
        ),
        (
            {"grant_type": "password", "username": "user1", "password": "Form-Secret-Pass-1" * 100},
            "invalid_request",
        ),
    ],
)
async def test_token_form_errors_are_oauth2_errors_without_the_password(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    form: dict[str, str],
    error: str,
) -> None:
    response = await client.post("/v1/auth/token", data=form)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"
    assert "Form-Secret-Pass-1" not in response.text
    await _nothing_written(mongo, database_name)
    assert await mongo[database_name]["login_failures"].count_documents({}) == 0


async def test_a_national_phone_number_needs_the_default_region_setting(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    national = account_payload(1, phone="020 7946 0958")
    async with running_app(make_settings()) as (_, international_only):
        refused = await international_only.post("/v1/accounts", json=national)
    await _nothing_written(mongo, database_name)
    async with running_app(make_settings(phone_default_region="gb")) as (_, uk):
        created = await uk.post("/v1/accounts", json=national)
        login = await uk.post(
            "/v1/auth/login", json={"identifier": "020 7946 0958", "password": TEST_PASSWORD}
        )

    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    assert [error["field"] for error in refused.json()["errors"]] == ["phone"]
    assert created.status_code == 201, created.text
    assert created.json()["phone"] == "+442079460958"
    assert login.status_code == 200


UNPARSEABLE_BODIES = {
    "not UTF-8": b'{"identifier": "\xff\xfe"}',
    # 10,001 levels deep, within the size limit (the parser gives up long before the end)
    "nested deeper than any parser's recursion": b"[" * 10_001,
}


@pytest.mark.parametrize("path", ["/v1/accounts", "/v1/auth/login"])
@pytest.mark.parametrize("body", UNPARSEABLE_BODIES.values(), ids=list(UNPARSEABLE_BODIES))
async def test_a_body_that_cannot_be_parsed_is_a_422_problem_like_other_malformed_json(
    client: httpx.AsyncClient, path: str, body: bytes
) -> None:
    response = await client.post(path, content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [error["field"] for error in response.json()["errors"]] == ["body"]
