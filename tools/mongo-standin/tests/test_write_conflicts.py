"""A transaction whose snapshot went stale gets MongoDB's labelled write conflict.

SQLite answers "database is locked", at once and with no code or label, when a
transaction that has read tries to write after another connection wrote to the file
(the engine keeps several connections to its file). The launcher answers as MongoDB does
for a write conflict in a transaction, so drivers retry the transaction.
"""

from __future__ import annotations

import sqlite3
import struct
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from mongo_standin.server import (
    LOCKED_MESSAGE,
    WRITE_CONFLICT,
    as_write_conflict,
    is_locked_refusal,
)

Client = AsyncMongoClient[dict[str, Any]]


def _write_beside_the_engine(path: Path) -> None:
    """Commit a write to the data file through another SQLite connection."""
    other = sqlite3.connect(path)
    try:
        other.execute("CREATE TABLE IF NOT EXISTS other_writer (n INTEGER)")
        other.execute("INSERT INTO other_writer VALUES (1)")
        other.commit()
    finally:
        other.close()


@dataclass(frozen=True, slots=True)
class Served:
    """A server of the test's own (so no other test writes to its file) and a database
    holding one counter at 0."""

    path: Path
    client: Client
    db: AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def served(start_server: Callable[[Path], str], tmp_path: Path) -> AsyncIterator[Served]:
    path = tmp_path / "data.sqlite3"
    client: Client = AsyncMongoClient(start_server(path))
    db = client[f"t_{uuid.uuid4().hex}"]
    await db.counters.insert_one({"_id": "c", "n": 0})
    yield Served(path, client, db)
    await client.close()


async def test_a_stale_snapshot_is_a_labelled_write_conflict_and_the_retry_applies_once(
    served: Served,
) -> None:
    path, client, db = served.path, served.client, served.db
    conflicts: list[OperationFailure] = []
    attempts = 0

    async def increment(session: Any) -> None:
        nonlocal attempts
        attempts += 1
        await db.counters.find_one({"_id": "c"}, session=session)  # the snapshot is taken
        if attempts == 1:
            _write_beside_the_engine(path)
        try:
            await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, session=session)
        except OperationFailure as error:
            conflicts.append(error)
            raise

    async with client.start_session() as session:
        await session.with_transaction(increment)
    # The gate is free again: a plain write goes through at once.
    await db.log.insert_one({"_id": "after"})
    counter = await db.counters.find_one({"_id": "c"})

    labelled = [(e.code, e.has_error_label("TransientTransactionError")) for e in conflicts]
    assert labelled == [(WRITE_CONFLICT, True)]
    assert attempts == 2
    assert counter == {"_id": "c", "n": 1}


async def test_the_conflict_reaches_a_client_that_does_not_retry_and_leaves_nothing(
    served: Served,
) -> None:
    client, db = served.client, served.db
    async with client.start_session() as session:
        await session.start_transaction()
        await db.counters.find_one({"_id": "c"}, session=session)
        _write_beside_the_engine(served.path)
        with pytest.raises(OperationFailure) as raised:
            await db.items.insert_many([{"_id": 1}, {"_id": 2}], session=session)
        await session.abort_transaction()
    async with client.start_session() as session:
        await session.start_transaction()
        await db.items.insert_one({"_id": "next"}, session=session)
        await session.commit_transaction()
    items = await db.items.distinct("_id")
    assert raised.value.code == WRITE_CONFLICT
    assert raised.value.has_error_label("TransientTransactionError")
    assert items == ["next"]


def test_only_failed_replies_saying_locked_are_rewritten(op_msg: Callable[..., bytes]) -> None:
    locked = op_msg({"ok": 0.0, "errmsg": LOCKED_MESSAGE}, request_id=7, response_to=3)
    assert is_locked_refusal(locked)
    assert not is_locked_refusal(op_msg({"ok": 1.0, "x": LOCKED_MESSAGE}))
    assert not is_locked_refusal(op_msg({"ok": 0.0, "errmsg": "E11000 duplicate key"}))
    assert not is_locked_refusal(None)

    rewritten = as_write_conflict(locked)
    length, request_id, response_to, op_code = struct.unpack_from("<iiii", rewritten)
    assert (length, request_id, response_to, op_code) == (len(rewritten), 7, 3, 2013)
    document = bson.decode(rewritten[21:])
    assert document["code"] == WRITE_CONFLICT
    assert document["codeName"] == "WriteConflict"
    assert document["errorLabels"] == ["TransientTransactionError"]
    assert LOCKED_MESSAGE in document["errmsg"]
