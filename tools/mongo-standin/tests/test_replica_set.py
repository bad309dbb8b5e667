"""--replica-set: the server answers handshakes as the primary of a single-node replica set, so
that drivers given ``?replicaSet=NAME`` (as a compose file names its MongoDB) find it."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bson
import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from mongo_standin.server import as_replica_set_member


def _op_reply(document: dict[str, Any]) -> bytes:
    """A legacy OP_REPLY (op code 1) carrying one document, as an ``isMaster`` is answered."""
    body = struct.pack("<iqii", 8, 0, 0, 1) + bson.encode(document)
    return struct.pack("<iiii", 16 + len(body), 7, 3, 1) + body


def _documents(reply: bytes) -> dict[str, Any]:
    _, _, _, op_code = struct.unpack_from("<iiii", reply)
    (length,) = struct.unpack_from("<i", reply)
    assert length == len(reply)
    offset = 16 + 5 if op_code == 2013 else 16 + 20
    return bson.decode(reply[offset:])


HELLO = {"isWritablePrimary": True, "maxWireVersion": 21, "ok": 1.0}


def test_a_hello_reply_names_the_set_and_its_one_member(op_msg: Callable[..., bytes]) -> None:
    reply = as_replica_set_member(op_msg(HELLO, 5, 9), "rs0", "mongodb:27017")
    document = _documents(reply)
    assert document["setName"] == "rs0"
    assert document["hosts"] == ["mongodb:27017"]
    assert document["primary"] == document["me"] == "mongodb:27017"
    assert struct.unpack_from("<iiii", reply)[1:] == (5, 9, 2013)


def test_a_legacy_is_master_reply_names_the_set_too() -> None:
    reply = as_replica_set_member(
        _op_reply({"ismaster": True, "maxWireVersion": 21, "ok": 1.0}), "rs0", "db:27017"
    )
    document = _documents(reply)
    assert document["setName"] == "rs0"
    assert document["ismaster"] is True
    assert struct.unpack_from("<iiqii", reply, 12)[0] == 1  # still an OP_REPLY


def test_other_replies_are_left_as_they_are(op_msg: Callable[..., bytes]) -> None:
    for document in ({"n": 1, "ok": 1.0}, {"ok": 0.0, "errmsg": "no", "maxWireVersion": 21}):
        reply = op_msg(document)
        assert as_replica_set_member(reply, "rs0", "db:27017") == reply


async def test_a_driver_given_the_set_name_connects_and_runs_a_transaction(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    uri = start_server(tmp_path / "data.sqlite3", "--replica-set", "rs0")
    assert uri.endswith("/?replicaSet=rs0")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        hello = await client.admin.command("hello")
        assert hello["setName"] == "rs0"
        collection = client["shop"]["orders"]
        async with client.start_session() as session, await session.start_transaction():
            await collection.insert_one({"_id": 1}, session=session)
        assert await collection.count_documents({}) == 1
    finally:
        await client.close()


async def test_without_the_option_a_replica_set_uri_finds_no_server(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    uri = start_server(tmp_path / "data.sqlite3").replace("directConnection=true", "replicaSet=rs0")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, serverSelectionTimeoutMS=1500)
    try:
        with pytest.raises(ServerSelectionTimeoutError):
            await client.admin.command("ping")
    finally:
        await client.close()


async def test_with_a_user_only_clients_that_authenticate_as_it_are_served(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    password_file = tmp_path / "password"
    password_file.write_text("s3cret-standin-pw\n")
    uri = start_server(
        tmp_path / "data.sqlite3", "--user", "svc", "--password-file", str(password_file)
    )
    with_credentials = uri.replace("mongodb://", "mongodb://svc:s3cret-standin-pw@")
    good: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(with_credentials)
    wrong: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri.replace("mongodb://", "mongodb://svc:wrong@"), serverSelectionTimeoutMS=3000
    )
    try:
        await good["shop"]["orders"].insert_one({"_id": 1})
        assert await good["shop"]["orders"].count_documents({}) == 1
        with pytest.raises(OperationFailure):
            await wrong["shop"]["orders"].insert_one({"_id": 2})
    finally:
        await good.close()
        await wrong.close()
