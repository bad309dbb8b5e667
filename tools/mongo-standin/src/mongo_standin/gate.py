"""Admission of requests around transactions, decided before the engine sees them.

The engine runs one transaction at a time and cannot run a plain write of another
session beside it without stalling. So the server admits requests the way a
single-writer database must: while a transaction is open, only its own session's
requests go in, and a transaction starts only once the plain requests already
running have finished. Plain requests run side by side. Transactions waiting to
start go before plain requests that arrive after them, so neither kind starves.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from typing import Any

import bson

_TRANSACTION_END = frozenset({"commitTransaction", "abortTransaction"})
_SECTION_BODY = 0
_SECTION_SEQUENCE = 1


@dataclass(frozen=True, slots=True)
class RequestKind:
    """What the gate needs to know of one command."""

    session: str | None
    in_transaction: bool
    ends_transaction: bool


PLAIN = RequestKind(session=None, in_transaction=False, ends_transaction=False)


def _op_msg_body(payload: bytes) -> dict[str, Any] | None:
    """The body (section kind 0) of an OP_MSG payload (the message after its header)."""
    offset = 4  # flag bits
    while offset < len(payload):
        kind = payload[offset]
        offset += 1
        if offset + 4 > len(payload):
            return None
        (size,) = struct.unpack_from("<i", payload, offset)
        if kind == _SECTION_BODY:
            try:
                return bson.decode(payload[offset : offset + size])
            except Exception:
                return None
        if kind != _SECTION_SEQUENCE:
            return None
        offset += size
    return None


def classify(op_code: int, payload: bytes) -> RequestKind:
    """Classify a request: part of a transaction (``autocommit: false``), plain, or (no
    session: handshakes and monitoring) outside the gate."""
    if op_code != 2013:  # only OP_MSG carries sessions; legacy handshakes are plain
        return PLAIN
    body = _op_msg_body(payload)
    if body is None or "lsid" not in body:
        return PLAIN
    command = next(iter(body), "")
    in_transaction = body.get("autocommit") is False or command in _TRANSACTION_END
    return RequestKind(
        session=repr(body["lsid"]),
        in_transaction=in_transaction,
        ends_transaction=command in _TRANSACTION_END,
    )


class TransactionGate:
    """One open transaction at a time, and no plain request beside it."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self.owner: str | None = None
        self.plain_running = 0
        self.transactions_waiting = 0

    async def enter_transaction(self, session: str) -> None:
        async with self._changed:
            if self.owner == session:
                return
            self.transactions_waiting += 1
            try:
                await self._changed.wait_for(lambda: self.owner is None and self.plain_running == 0)
            finally:
                self.transactions_waiting -= 1
            self.owner = session

    async def release_transaction(self) -> None:
        async with self._changed:
            self.owner = None
            self._changed.notify_all()

    async def enter_plain(self) -> None:
        async with self._changed:
            await self._changed.wait_for(
                lambda: self.owner is None and self.transactions_waiting == 0
            )
            self.plain_running += 1

    async def leave_plain(self) -> None:
        async with self._changed:
            self.plain_running -= 1
            self._changed.notify_all()
