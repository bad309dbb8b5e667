"""First-login recording under concurrency: several recorders (one client each, as workers
have) on one database.

The recorder is the one atomic step that guards the order invariants, so it is driven
directly here, 16 at a time. The same race over HTTP, through several app instances, is
in ``test_first_login_http.py``.
"""

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from login_service.clock import utc_now_ms
from login_service.db import Collections, ensure_indexes
from login_service.first_login.event import FirstLoginEvent
from login_service.first_login.recorder import FirstLoginRecorder
from tests.support import insert_accounts

pytestmark = pytest.mark.integration

ACCOUNTS = 200
CONCURRENCY = 16
WORKERS = 3
ROUTING_KEY = "account.first_login.v1"


def _recorder(
    client: AsyncMongoClient[dict[str, Any]],
    collections: Collections,
    clock: Callable[[], datetime] = utc_now_ms,
) -> FirstLoginRecorder:
    """A recorder with no outbox relay to wake."""
    return FirstLoginRecorder(
        client, collections, routing_key=ROUTING_KEY, on_recorded=lambda: None, clock=clock
    )


@pytest.fixture
async def recorders(
    mongodb_uri: str, database_name: str, mongo: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[list[FirstLoginRecorder]]:
    """One recorder per simulated worker, each with its own client."""
    clients: list[AsyncMongoClient[dict[str, Any]]] = [
        AsyncMongoClient(mongodb_uri, tz_aware=True) for _ in range(WORKERS)
    ]
    await ensure_indexes(Collections.of(mongo[database_name]), sent_retention_days=7)
    try:
        yield [_recorder(client, Collections.of(client[database_name])) for client in clients]
    finally:
        for client in clients:
            await client.close()


async def _account_ids(mongo: AsyncMongoClient[dict[str, Any]], database: str) -> list[str]:
    return [str(doc["_id"]) async for doc in mongo[database]["accounts"].find({}, {"_id": 1})]


async def test_concurrent_first_logins_through_several_workers_get_orders_1_to_n_in_time_order(
    recorders: list[FirstLoginRecorder],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
) -> None:
    await insert_accounts(mongo, database_name, ACCOUNTS)
    account_ids = await _account_ids(mongo, database_name)
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def first_login(recorder: FirstLoginRecorder, account_id: str) -> FirstLoginEvent | None:
        async with semaphore:
            return await recorder.record(account_id, None)

    events = await asyncio.gather(
        *(
            first_login(recorder, account_id)
            for recorder, account_id in zip(itertools.cycle(recorders), account_ids, strict=False)
        )
    )

    assert all(event is not None for event in events)
    accounts = await (
        mongo[database_name]["accounts"].find({}).sort("first_login_order", 1).to_list()
    )
    orders = [account["first_login_order"] for account in accounts]
    assert orders == list(range(1, ACCOUNTS + 1))
    times = [account["first_login_at"] for account in accounts]
    assert times == sorted(times), "a smaller order carries a later first_login_at"
    stored = await mongo[database_name]["outbox"].find({}).to_list()
    assert sorted(event["body"]["first_login_order"] for event in stored) == orders
    by_account = {account["_id"]: account for account in accounts}
    for event in stored:
        account = by_account[event["body"]["account_id"]]
        assert event["body"]["first_login_order"] == account["first_login_order"]


async def test_concurrent_first_logins_of_one_account_record_one_order_and_one_event(
    recorders: list[FirstLoginRecorder],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
) -> None:
    await insert_accounts(mongo, database_name, 1)
    (account_id,) = await _account_ids(mongo, database_name)

    events = await asyncio.gather(
        *(recorder.record(account_id, None) for recorder in recorders + recorders)
    )

    assert len([event for event in events if event is not None]) == 1
    account = await mongo[database_name]["accounts"].find_one({"_id": account_id})
    assert account is not None
    assert account["first_login_order"] == 1
    assert await mongo[database_name]["outbox"].count_documents({}) == 1
    counter = await mongo[database_name]["counters"].find_one({"_id": "first_login_order"})
    assert counter is not None
    assert counter["value"] == 1, "an aborted recording must give its order number back"


async def test_a_host_whose_clock_runs_behind_never_gives_a_later_order_an_earlier_time(
    mongodb_uri: str, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    """Two login hosts, one of them 10 s behind: times follow orders, not clocks."""
    await ensure_indexes(Collections.of(mongo[database_name]), sent_retention_days=7)
    await insert_accounts(mongo, database_name, 3)
    first, second, third = sorted(await _account_ids(mongo, database_name))
    on_time = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
    collections = Collections.of(mongo[database_name])

    def recorder(clock: datetime) -> FirstLoginRecorder:
        return _recorder(mongo, collections, clock=lambda: clock)

    one = await recorder(on_time).record(first, None)
    two = await recorder(on_time - timedelta(seconds=10)).record(second, None)
    three = await recorder(on_time + timedelta(seconds=1)).record(third, None)

    recorded = [event for event in (one, two, three) if event is not None]
    assert [e.first_login_order for e in recorded] == [1, 2, 3]
    assert [e.first_login_at for e in recorded] == [
        on_time,
        on_time,
        on_time + timedelta(seconds=1),
    ]
    stored = await mongo[database_name]["accounts"].find_one({"_id": second})
    assert stored is not None
    assert stored["first_login_at"] == on_time
    assert stored["first_login_order"] == 2


async def test_a_host_whose_clock_runs_ahead_does_not_delay_other_hosts_events(
    mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    """The handed-out time may be pulled forward; the relay's schedule is the host's own."""
    await ensure_indexes(Collections.of(mongo[database_name]), sent_retention_days=7)
    await insert_accounts(mongo, database_name, 2)
    first, second = sorted(await _account_ids(mongo, database_name))
    on_time = datetime(2026, 11, 26, 9, 0, 0, tzinfo=UTC)
    ahead = on_time + timedelta(hours=1)
    collections = Collections.of(mongo[database_name])

    await _recorder(mongo, collections, clock=lambda: ahead).record(first, None)
    event = await _recorder(mongo, collections, clock=lambda: on_time).record(second, None)

    assert event is not None
    assert event.first_login_at == ahead, "orders keep non-decreasing times"
    stored = await mongo[database_name]["outbox"].find_one({"_id": event.event_id})
    assert stored is not None
    assert stored["next_attempt_at"] == on_time, "due now for this host's relay"
    assert stored["created_at"] == on_time
