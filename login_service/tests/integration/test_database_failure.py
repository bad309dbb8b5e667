"""A database that fails an operation (not unreachable): 503 with Retry-After, nothing written.

The failure is a real one of the server: the first-login counter holds a value ``$inc``
cannot add to, so the transaction's first command fails with an ``OperationFailure``
(TypeMismatch, code 14) that carries no retry label, as a write conflict left after
retries or a primary stepping down would.
"""

import json
import re
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from login_service.db import FIRST_LOGIN_COUNTER_ID
from tests.support import TEST_PASSWORD, insert_accounts, running_app

pytestmark = pytest.mark.integration

NOT_A_NUMBER = "not-a-number"


def _lines(text: str) -> list[dict[str, Any]]:
    """The JSON lines the service wrote to stderr (every line is one)."""
    return [json.loads(line) for line in text.splitlines()]


async def test_a_first_login_the_database_fails_is_a_503_that_writes_nothing(
    make_settings: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (username,) = await insert_accounts(mongo, database_name, 1)
    database = mongo[database_name]
    login = {"identifier": username, "password": TEST_PASSWORD}
    async with running_app(make_settings(log_format="json")) as (_, client):
        await database["counters"].update_one(
            {"_id": FIRST_LOGIN_COUNTER_ID}, {"$set": {"value": NOT_A_NUMBER}}
        )
        capsys.readouterr()
        failed = await client.post("/v1/auth/login", json=login)
        logged = capsys.readouterr().err
        lines = _lines(logged)

        assert failed.status_code == 503, failed.text
        assert failed.headers["content-type"] == "application/problem+json"
        assert failed.headers["retry-after"] == "5"
        assert "set-cookie" not in failed.headers
        problem = failed.json()
        assert problem["type"] == "urn:bank:login:problem:service-unavailable"
        assert problem["detail"] == "The database could not complete the request. Try again later."
        assert problem["request_id"] == failed.headers["x-request-id"]
        assert "access_token" not in problem

        # The transaction aborted as a whole: no order, no event, the counter untouched.
        account = await database["accounts"].find_one({"username": username})
        assert account is not None
        assert account.get("first_login_at") is None
        assert account.get("first_login_order") is None
        assert await database["outbox"].count_documents({}) == 0
        counter = await database["counters"].find_one({"_id": FIRST_LOGIN_COUNTER_ID})
        assert counter is not None
        assert counter["value"] == NOT_A_NUMBER

        # Logged as a database failure, by type, server code and place; not as unhandled,
        # and without the server's message.
        errors = [line for line in lines if line.get("event") == "database_error"]
        assert len(errors) == 1, lines
        assert errors[0]["error"] == "OperationFailure"
        assert errors[0]["code"] == 14
        assert re.fullmatch(r".+\.py:\d+", errors[0]["at"]), errors[0]["at"]
        assert errors[0]["path"] == "/v1/auth/login"
        assert not [line for line in lines if line.get("event") == "unhandled_error"]
        assert "$inc" not in logged

        # Once the database can do the work, the same login records the first login.
        await database["counters"].update_one(
            {"_id": FIRST_LOGIN_COUNTER_ID}, {"$set": {"value": 0}}
        )
        retried = await client.post("/v1/auth/login", json=login)
        assert retried.status_code == 200, retried.text

    account = await database["accounts"].find_one({"username": username})
    assert account is not None
    assert account["first_login_order"] == 1
    assert await database["outbox"].count_documents({}) == 1
