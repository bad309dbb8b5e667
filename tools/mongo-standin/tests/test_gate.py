"""Which requests the gate holds back, and in what order it lets them in."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import bson
from bson.binary import Binary

from mongo_standin.gate import TransactionGate, classify

_LSID = {"id": Binary(b"0123456789abcdef", 4)}


def op_msg_payload(body: dict[str, Any], *, sequence_first: bool = False) -> bytes:
    encoded = bson.encode(body)
    sequence = b"documents\x00" + bson.encode({"_id": 1})
    sequence_section = b"\x01" + struct.pack("<i", 4 + len(sequence)) + sequence
    sections = b"\x00" + encoded
    if sequence_first:
        sections = sequence_section + sections
    return struct.pack("<I", 0) + sections


def test_commands_without_a_session_are_outside_the_gate() -> None:
    assert classify(2013, op_msg_payload({"hello": 1})).session is None
    assert classify(2004, b"legacy handshake").session is None


def test_transaction_statements_are_recognised_by_autocommit_false() -> None:
    statement = {"insert": "c", "lsid": _LSID, "txnNumber": 1, "autocommit": False}
    kind = classify(2013, op_msg_payload(statement, sequence_first=True))
    assert kind.in_transaction and not kind.ends_transaction
    assert kind.session == repr(_LSID)


def test_retryable_writes_are_plain_and_commit_ends_a_transaction() -> None:
    retryable = {"insert": "c", "lsid": _LSID, "txnNumber": 7}
    assert not classify(2013, op_msg_payload(retryable)).in_transaction
    commit = {"commitTransaction": 1, "lsid": _LSID, "txnNumber": 7, "autocommit": False}
    assert classify(2013, op_msg_payload(commit)).ends_transaction


async def test_a_transaction_waits_for_running_plain_requests_and_then_holds_them_back() -> None:
    gate = TransactionGate()
    await gate.enter_plain()
    transaction = asyncio.create_task(gate.enter_transaction("a"))
    await asyncio.sleep(0.01)
    assert not transaction.done()
    later_plain = asyncio.create_task(gate.enter_plain())
    await asyncio.sleep(0.01)
    assert not later_plain.done(), "a waiting transaction goes before later plain requests"
    await gate.leave_plain()
    await asyncio.wait_for(transaction, 1)
    assert gate.owner == "a"
    await gate.enter_transaction("a")  # its own next statement goes straight in
    await asyncio.sleep(0.01)
    assert not later_plain.done()
    await gate.release_transaction()
    await asyncio.wait_for(later_plain, 1)
    assert gate.plain_running == 1
