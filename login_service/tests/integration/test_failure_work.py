"""A failed login does the same work whether or not the identifier names an account."""

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.integration.test_throttling import register
from tests.support import running_app

pytestmark = pytest.mark.integration


async def _windows(mongo: AsyncMongoClient[dict[str, Any]], database: str) -> list[str]:
    found = await mongo[database]["login_failures"].find({}, {"_id": 1}).to_list()
    # The registration's own window shares the collection; only login windows count here.
    return sorted(str(doc["_id"]) for doc in found if not doc["_id"].startswith("registration:"))


async def test_a_failure_for_an_unknown_identifier_counts_in_as_many_windows_as_for_an_account(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    settings = make_settings()
    async with (
        running_app(settings, client_address="198.51.100.1") as (_, known),
        running_app(settings, client_address="198.51.100.2") as (_, unknown),
    ):
        await register(known)
        existing = await known.post(
            "/v1/auth/login", json={"identifier": "user1", "password": "not the password!"}
        )
        after_existing = await _windows(mongo, database_name)
        missing = await unknown.post(
            "/v1/auth/login", json={"identifier": "nobody", "password": "not the password!"}
        )
        after_missing = await _windows(mongo, database_name)

    assert (existing.status_code, missing.status_code) == (401, 401)
    assert len(after_existing) == 4
    added = [window for window in after_missing if window not in after_existing]
    assert len(added) == 4, added
    scopes = sorted(window.split(":")[0] for window in added)
    assert scopes == ["account", "account_day", "client", "identifier"]


async def test_an_unknown_identifier_is_refused_by_the_account_wide_budget_like_an_account(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    settings = make_settings(
        throttle_account_total_max_failures=2,
        throttle_identifier_max_failures=100,
        throttle_client_max_failures=100,
    )
    statuses = []
    for index in range(3):
        async with running_app(settings, client_address=f"198.51.100.{10 + index}") as (_, c):
            response = await c.post(
                "/v1/auth/login", json={"identifier": "nobody", "password": "not the password!"}
            )
            statuses.append(response.status_code)

    assert statuses == [401, 401, 429]
