"""First logins over HTTP, through several app instances at once (as Uvicorn workers are),
with throttle counters, password checks, the transaction and the outbox all in play."""

import asyncio
import itertools
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from login_service.config import Settings
from tests.support import TEST_PASSWORD, insert_accounts, running_app

pytestmark = pytest.mark.integration

ACCOUNTS = 200
CONCURRENCY = 16
WORKERS = 3


async def test_200_first_logins_16_at_a_time_through_3_workers_get_orders_1_to_200(
    make_settings: Callable[..., Settings],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
) -> None:
    usernames = await insert_accounts(mongo, database_name, ACCOUNTS)
    semaphore = asyncio.Semaphore(CONCURRENCY)
    async with AsyncExitStack() as stack:
        workers: list[httpx.AsyncClient] = []
        for worker in range(WORKERS):
            _, http = await stack.enter_async_context(
                running_app(make_settings(), client_address=f"198.51.100.{worker + 1}")
            )
            workers.append(http)

        async def log_in(http: httpx.AsyncClient, username: str) -> int:
            async with semaphore:
                response = await http.post(
                    "/v1/auth/login", json={"identifier": username, "password": TEST_PASSWORD}
                )
                return response.status_code

        statuses = await asyncio.gather(
            *(
                log_in(http, username)
                for http, username in zip(itertools.cycle(workers), usernames, strict=False)
            )
        )

    assert statuses == [200] * ACCOUNTS
    accounts = await (
        mongo[database_name]["accounts"].find({}).sort("first_login_order", 1).to_list()
    )
    assert [account["first_login_order"] for account in accounts] == list(range(1, ACCOUNTS + 1))
    times = [account["first_login_at"] for account in accounts]
    assert times == sorted(times), "a smaller order carries a later first_login_at"
    outbox = await mongo[database_name]["outbox"].find({}).to_list()
    assert len(outbox) == ACCOUNTS
    assert {
        event["body"]["account_id"]: event["body"]["first_login_order"] for event in outbox
    } == {account["_id"]: account["first_login_order"] for account in accounts}
