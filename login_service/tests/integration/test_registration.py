"""Registration against the real MongoDB wire server."""

import asyncio
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, account_payload

pytestmark = pytest.mark.integration


async def test_registration_returns_the_account_without_password_or_hash(
    client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    response = await client.post(
        "/v1/accounts",
        json=account_payload(1, email="Ada@Example.COM", phone="+44 20 7000 0001"),
    )

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["username"] == "user1"
    assert body["email"] == "Ada@example.com"
    assert body["phone"] == "+442070000001"
    assert body["first_login_at"] is None
    assert body["first_login_order"] is None
    assert "password" not in response.text
    assert "argon2" not in response.text
    assert TEST_PASSWORD not in response.text
    stored = await mongo[database_name]["accounts"].find_one({"_id": body["id"]})
    assert stored is not None
    assert stored["email_key"] == "ada@example.com"
    assert stored["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    ("field", "variant"),
    [
        ("username", {"username": "USER1"}),
        ("email", {"email": "USER1@EXAMPLE.com"}),
        ("phone", {"phone": "+44 (0)20 7000 0001"}),
    ],
)
async def test_duplicate_differing_only_in_case_or_phone_format_is_409_naming_the_field(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    field: str,
    variant: dict[str, str],
) -> None:
    assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
    other = account_payload(2, **variant)

    response = await client.post("/v1/accounts", json=other)

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["field"] == field
    assert problem["status"] == 409
    assert await mongo[database_name]["accounts"].count_documents({}) == 1


async def test_concurrent_registrations_of_one_identity_yield_one_201_and_409s_naming_the_field(
    client: httpx.AsyncClient, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    variants = [
        account_payload(7, username=username, email=email, phone=phone)
        for username, email, phone in [
            ("racer", "racer@example.com", "+442070000007"),
            ("RACER", "Racer@Example.com", "+44 20 7000 0007"),
            ("Racer", "RACER@EXAMPLE.COM", "+44 (0) 20 7000 0007"),
            ("rAcEr", "racer@EXAMPLE.com", "+44-20-7000-0007"),
            ("raCER", "rAcer@example.COM", "+44 207 000 0007"),
            ("RAcer", "racER@example.com", "+4420 70000007"),
        ]
    ]

    responses = await asyncio.gather(*(client.post("/v1/accounts", json=body) for body in variants))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * (len(variants) - 1)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["field"] in {"username", "email", "phone"}
    assert await mongo[database_name]["accounts"].count_documents({}) == 1
