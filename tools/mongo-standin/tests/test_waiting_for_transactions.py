"""The wire server makes other sessions wait for an open transaction, as MongoDB does."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from mongo_standin.server import BUSY_MESSAGE, is_busy_refusal

Client = AsyncMongoClient[dict[str, Any]]


async def test_read_during_open_transaction_returns_committed_document_after_commit(
    client: Client,
) -> None:
    db = client[f"t_{uuid.uuid4().hex}"]
    await db.items.insert_one({"_id": 1, "state": "before"})
    transaction_open = asyncio.Event()

    async with client.start_session() as session:
        await session.start_transaction()
        await db.items.update_one({"_id": 1}, {"$set": {"state": "after"}}, session=session)
        transaction_open.set()

        async def read_outside() -> tuple[dict[str, Any] | None, float]:
            started = time.monotonic()
            document = await db.items.find_one({"_id": 1})
            return document, time.monotonic() - started

        reader = asyncio.create_task(read_outside())
        await asyncio.sleep(0.3)
        assert not reader.done(), "the read must wait while the transaction is open"
        await session.commit_transaction()

    document, waited = await asyncio.wait_for(reader, timeout=10)
    assert document == {"_id": 1, "state": "after"}
    assert waited >= 0.3


async def test_write_during_open_transaction_waits_and_then_applies(client: Client) -> None:
    db = client[f"t_{uuid.uuid4().hex}"]
    async with client.start_session() as session:
        await session.start_transaction()
        await db.counters.insert_one({"_id": "c", "n": 1}, session=session)
        writer = asyncio.create_task(db.log.insert_one({"_id": "outside"}))
        await asyncio.sleep(0.2)
        assert not writer.done()
        await session.commit_transaction()
    await asyncio.wait_for(writer, timeout=10)
    assert await db.log.count_documents({}) == 1
    assert await db.counters.find_one({"_id": "c"}) == {"_id": "c", "n": 1}


async def test_aborted_transaction_leaves_nothing_and_releases_waiters(client: Client) -> None:
    db = client[f"t_{uuid.uuid4().hex}"]
    async with client.start_session() as session:
        await session.start_transaction()
        await db.items.insert_one({"_id": "ghost"}, session=session)
        reader = asyncio.create_task(db.items.count_documents({}))
        await asyncio.sleep(0.1)
        await session.abort_transaction()
    assert await asyncio.wait_for(reader, timeout=10) == 0


async def test_concurrent_transactions_serialise_without_lost_increments(client: Client) -> None:
    db = client[f"t_{uuid.uuid4().hex}"]
    await db.counters.insert_one({"_id": "c", "n": 0})

    async def increment(i: int) -> None:
        async with client.start_session() as session:

            async def body(s: Any) -> None:
                await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, session=s)
                await db.items.insert_one({"_id": i}, session=s)

            await session.with_transaction(body)

    await asyncio.wait_for(asyncio.gather(*(increment(i) for i in range(40))), timeout=60)
    assert await db.counters.find_one({"_id": "c"}) == {"_id": "c", "n": 40}
    assert await db.items.count_documents({}) == 40


async def test_data_survives_a_restart_of_the_server(
    start_server: Callable[[Path], str], tmp_path: Path
) -> None:
    path = tmp_path / "kept.sqlite3"
    first: Client = AsyncMongoClient(start_server(path))
    await first.app.items.insert_one({"_id": "kept"})
    await first.close()
    second: Client = AsyncMongoClient(start_server(path))
    assert await second.app.items.find_one({"_id": "kept"}) == {"_id": "kept"}
    await second.close()


async def test_plain_writes_on_a_shared_document_beside_transactions_never_stall(
    client: Client,
) -> None:
    """The pattern of a login: a plain counter update, then a short transaction, then another
    plain update, 16 at a time. Plain writes beside an open transaction used to stall the
    engine for up to 30 s and then fail."""
    db = client[f"t_{uuid.uuid4().hex}"]
    await db.counters.insert_one({"_id": "order", "value": 0})
    await db.accounts.insert_many([{"_id": i, "order": None} for i in range(60)])
    limit = asyncio.Semaphore(16)

    async def first_login(i: int) -> None:
        async with limit:
            await db.throttle.find_one_and_update(
                {"_id": "client"}, {"$inc": {"n": 1}}, upsert=True
            )

            async def body(session: Any) -> None:
                counter = await db.counters.find_one_and_update(
                    {"_id": "order"}, {"$inc": {"value": 1}}, session=session, return_document=True
                )
                assert counter is not None
                await db.accounts.update_one(
                    {"_id": i, "order": None},
                    {"$set": {"order": counter["value"]}},
                    session=session,
                )
                await db.outbox.insert_one({"_id": i}, session=session)

            async with client.start_session() as session:
                await session.with_transaction(body)
            await db.throttle.update_one({"_id": "client"}, {"$inc": {"n": -1}})

    await asyncio.wait_for(asyncio.gather(*(first_login(i) for i in range(60))), timeout=60)
    orders = sorted([doc["order"] async for doc in db.accounts.find()])
    assert orders == list(range(1, 61))
    assert await db.outbox.count_documents({}) == 60
    assert await db.throttle.find_one({"_id": "client"}) == {"_id": "client", "n": 0}


def test_busy_refusal_is_recognised_only_in_failed_replies(op_msg: Callable[..., bytes]) -> None:
    assert is_busy_refusal(op_msg({"ok": 0.0, "errmsg": f"SQLiteEngine has an {BUSY_MESSAGE}"}))
    assert not is_busy_refusal(op_msg({"ok": 1.0, "cursor": {"firstBatch": [{"x": BUSY_MESSAGE}]}}))
    assert not is_busy_refusal(op_msg({"ok": 0.0, "errmsg": "E11000 duplicate key"}))
    assert not is_busy_refusal(None)
