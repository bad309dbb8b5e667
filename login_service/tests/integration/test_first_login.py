"""First-login recording under concurrency, through several app instances on one database."""

import asyncio
import itertools
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
APP_INSTANCES = 3


async def test_concurrent_first_logins_through_several_apps_get_orders_1_to_n_in_time_order(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    usernames = await insert_accounts(mongo, database_name, ACCOUNTS)
    settings: Settings = make_settings()
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async with AsyncExitStack() as stack:
        clients = [
            (await stack.enter_async_context(running_app(settings)))[1]
            for _ in range(APP_INSTANCES)
        ]

        async def login(client: httpx.AsyncClient, username: str) -> int:
            async with semaphore:
                response = await client.post(
                    "/v1/auth/login", json={"identifier": username, "password": TEST_PASSWORD}
                )
                return response.status_code

        statuses = await asyncio.gather(
            *(
                login(client, name)
                for client, name in zip(itertools.cycle(clients), usernames, strict=False)
            )
        )

    assert statuses == [200] * ACCOUNTS
    accounts = await (
        mongo[database_name]["accounts"].find({}).sort("first_login_order", 1).to_list()
    )
    orders = [account["first_login_order"] for account in accounts]
    assert orders == list(range(1, ACCOUNTS + 1))
    times = [account["first_login_at"] for account in accounts]
    assert times == sorted(times), "a smaller order carries a later first_login_at"
    events = await mongo[database_name]["outbox"].find({}).to_list()
    assert sorted(event["body"]["first_login_order"] for event in events) == orders
    by_account = {account["_id"]: account for account in accounts}
    for event in events:
        account = by_account[event["body"]["account_id"]]
        assert event["body"]["first_login_order"] == account["first_login_order"]


async def test_two_concurrent_first_logins_of_one_account_record_one_order_and_one_event(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    (username,) = await insert_accounts(mongo, database_name, 1)
    settings: Settings = make_settings()

    async with running_app(settings) as (_, first), running_app(settings) as (_, second):
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/auth/login", json={"identifier": username, "password": TEST_PASSWORD}
                )
                for client in (first, second, first, second)
            )
        )

    assert [r.status_code for r in responses] == [200] * 4
    account = await mongo[database_name]["accounts"].find_one({"username": username})
    assert account is not None
    assert account["first_login_order"] == 1
    assert await mongo[database_name]["outbox"].count_documents({}) == 1
    counter = await mongo[database_name]["counters"].find_one({"_id": "first_login_order"})
    assert counter is not None
    assert counter["value"] == 1, "an aborted recording must give its order number back"
