"""The wire server, adapted so that other sessions wait for an open transaction.

The SQLite engine refuses every request of another session while a transaction
is open ("... active transaction bound to another session", with no error code
and no retry label), where MongoDB lets reads proceed and makes conflicting
writes wait; and a plain write running while a transaction starts can stall it.
The adaptation lives here, never in the services:

- requests are admitted by a :class:`~mongo_standin.gate.TransactionGate` before
  the engine sees them: while a transaction is open only its session's requests
  go in, and a transaction starts once the plain requests in progress are done;
- a request refused all the same is dispatched again after a short sleep (1 ms, doubling to
  20 ms) for up to ``wait_limit`` seconds, so clients observe a server that
  waits; a request whose client has gone away meanwhile is dropped, not run;
- a transaction left open longer than ``transaction_lifetime`` seconds (a client
  that died between two statements) is aborted, as MongoDB does after
  ``transactionLifetimeLimitSeconds`` (60 s by default);
- a statement of a transaction that SQLite refuses with "database is locked" (its
  snapshot went stale: another connection wrote to the file after the transaction first
  read; the engine keeps several connections to it) is answered as MongoDB answers a
  write conflict in a transaction: ``WriteConflict`` (112) labelled
  ``TransientTransactionError``, so drivers abort the transaction and run it again.
  SQLite does not wait in that case (the snapshot stays stale until the transaction
  ends), and its message carries no code or label: drivers would report a failure.
"""

from __future__ import annotations

import asyncio
import contextvars
import struct
import sys
import time
from typing import Any

import bson
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer, ProxyAddress

from mongo_standin.gate import TransactionGate, classify

BUSY_MESSAGE = "active transaction bound to another session"
LOCKED_MESSAGE = "database is locked"
WRITE_CONFLICT = 112

_OP_REPLY = 1
_OP_MSG = 2013
_HEADER = struct.Struct("<iiii")

# The reader of the connection whose request is being dispatched (one task per connection).
_connection_reader: contextvars.ContextVar[asyncio.StreamReader | None] = contextvars.ContextVar(
    "connection_reader", default=None
)


def _reply_document(response: bytes) -> dict[str, Any] | None:
    """Decode the first document of an OP_MSG or OP_REPLY response."""
    if len(response) < _HEADER.size:
        return None
    _, _, _, op_code = _HEADER.unpack_from(response)
    if op_code == _OP_MSG:
        offset = _HEADER.size + 4  # flag bits
        if len(response) <= offset or response[offset] != 0:  # section kind 0: body
            return None
        offset += 1
    elif op_code == _OP_REPLY:
        offset = _HEADER.size + 4 + 8 + 4 + 4  # flags, cursor id, starting from, count
    else:
        return None
    if len(response) < offset + 4:
        return None
    (size,) = struct.unpack_from("<i", response, offset)
    try:
        return bson.decode(response[offset : offset + size])
    except Exception:
        return None


def _is_refusal(response: bytes | None, message: str) -> bool:
    """True when a response is an error reply whose message contains ``message``."""
    if response is None or message.encode() not in response:
        return False
    document = _reply_document(response)
    if document is None or document.get("ok") == 1:
        return False
    return message in str(document.get("errmsg", ""))


def is_busy_refusal(response: bytes | None) -> bool:
    """True when a response is the engine's refusal because of another session's transaction."""
    return _is_refusal(response, BUSY_MESSAGE)


def is_locked_refusal(response: bytes | None) -> bool:
    """True when a response is SQLite's "database is locked" (no code, no label)."""
    return _is_refusal(response, LOCKED_MESSAGE)


def as_write_conflict(response: bytes) -> bytes:
    """The OP_MSG error reply MongoDB sends for a write conflict in a transaction, in
    answer to the same request as ``response``; other replies are returned unchanged."""
    _, request_id, response_to, op_code = _HEADER.unpack_from(response)
    document = _reply_document(response)
    if op_code != _OP_MSG or document is None:
        return response
    body = bson.encode(
        {
            "ok": 0.0,
            "errmsg": f"Write conflict during a transaction ({document.get('errmsg')}); "
            "please retry the transaction",
            "code": WRITE_CONFLICT,
            "codeName": "WriteConflict",
            "errorLabels": ["TransientTransactionError"],
        }
    )
    message = struct.pack("<iB", 0, 0) + body  # no flag bits; one section of kind 0 (body)
    header = _HEADER.pack(_HEADER.size + len(message), request_id, response_to, _OP_MSG)
    return header + message


def _with_document(response: bytes, document: dict[str, Any]) -> bytes:
    """``response`` (OP_MSG or OP_REPLY) with its first document replaced by ``document``."""
    _, request_id, response_to, op_code = _HEADER.unpack_from(response)
    if op_code == _OP_MSG:
        message = struct.pack("<iB", 0, 0) + bson.encode(document)  # no flag bits; body only
    else:
        flags, cursor_id, starting_from = struct.unpack_from("<iqi", response, _HEADER.size)
        message = struct.pack("<iqii", flags, cursor_id, starting_from, 1) + bson.encode(document)
    header = _HEADER.pack(_HEADER.size + len(message), request_id, response_to, op_code)
    return header + message


def with_handshake_fields(response: bytes, fields: dict[str, Any]) -> bytes:
    """A handshake reply (``hello``, ``isMaster``) with ``fields`` added; other replies
    unchanged."""
    document = _reply_document(response)
    if document is None or document.get("ok") != 1 or "maxWireVersion" not in document:
        return response
    if not (document.get("isWritablePrimary") or document.get("ismaster")):
        return response
    return _with_document(response, document | fields)


def replica_set_fields(name: str, host: str) -> dict[str, Any]:
    """What makes a handshake read as the primary of the single-node replica set ``name``
    whose one member is ``host``: drivers given ``?replicaSet=name`` accept only a server
    that names that set; the engine's own reply names none."""
    return {
        "setName": name,
        "setVersion": 1,
        "hosts": [host],
        "primary": host,
        "me": host,
        "secondary": False,
    }


def as_replica_set_member(response: bytes, name: str, host: str) -> bytes:
    return with_handshake_fields(response, replica_set_fields(name, host))


# With users configured: drivers pick their SCRAM mechanism from this handshake field, and
# without it fall back to SCRAM-SHA-1, which the engine does not verify.
SASL_MECHANISMS = {"saslSupportedMechs": ["SCRAM-SHA-256"]}


class WaitingProxyServer(AsyncMongoEcoProxyServer):
    """Proxy server whose requests wait for another session's transaction to end."""

    def __init__(
        self,
        *args: Any,
        wait_limit: float = 30.0,
        transaction_lifetime: float = 60.0,
        replica_set: tuple[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.wait_limit = wait_limit
        self.transaction_lifetime = transaction_lifetime
        # (set name, this member's host:port) when answering as a replica set's primary
        self.replica_set = replica_set
        self.requires_authentication = bool(kwargs.get("auth_users"))
        self.waited_requests = 0
        self.dropped_requests = 0
        self.write_conflicts = 0
        self.expired_transactions = 0
        # session key -> (transaction number, monotonic time it was first seen open)
        self._open_transactions: dict[str, tuple[int, float]] = {}
        self._reaper: asyncio.Task[None] | None = None
        self.gate = TransactionGate()

    async def start(self) -> ProxyAddress:
        address = await super().start()
        if self._reaper is None:
            self._reaper = asyncio.create_task(self._abort_expired_transactions_forever())
        return address

    async def close(self) -> None:
        reaper, self._reaper = self._reaper, None
        if reaper is not None:
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)
        await super().close()

    async def _handle_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        _connection_reader.set(reader)
        await super()._handle_connection(reader, writer)

    async def _dispatch_wire_request(self, header: Any, payload: bytes, *, connection: Any) -> Any:
        response = await self._dispatch_admitted(header, payload, connection)
        if response and b"maxWireVersion" in response:
            fields: dict[str, Any] = {}
            if self.replica_set is not None:
                fields |= replica_set_fields(*self.replica_set)
            if self.requires_authentication:
                fields |= SASL_MECHANISMS
            if fields:
                return with_handshake_fields(response, fields)
        return response

    async def _dispatch_admitted(self, header: Any, payload: bytes, connection: Any) -> Any:
        kind = classify(header.op_code, payload)
        if kind.session is None:
            # Handshakes and monitoring (hello, ...) carry no session and never wait.
            return await self._dispatch_waiting(header, payload, connection)
        if kind.in_transaction:
            await self.gate.enter_transaction(kind.session)
            try:
                if self._client_gone():
                    self.dropped_requests += 1
                    return None
                response = await self._dispatch_waiting(header, payload, connection)
                # Never for commit or abort: a driver would run the whole transaction again
                # while the engine still held it open (in WAL mode neither can be refused so).
                if not kind.ends_transaction and is_locked_refusal(response):
                    self.write_conflicts += 1
                    print(
                        "mongo-standin: a transaction's write met a stale snapshot "
                        f"({LOCKED_MESSAGE}); answered WriteConflict, TransientTransactionError",
                        file=sys.stderr,
                        flush=True,
                    )
                    return as_write_conflict(response)
                return response
            finally:
                if not self.transaction_open():
                    await self.gate.release_transaction()
        await self.gate.enter_plain()
        try:
            if self._client_gone():
                self.dropped_requests += 1
                return None
            return await self._dispatch_waiting(header, payload, connection)
        finally:
            await self.gate.leave_plain()

    @staticmethod
    def _client_gone() -> bool:
        reader = _connection_reader.get()
        return reader is not None and reader.at_eof()

    def transaction_open(self) -> bool:
        """Whether any session has a transaction open in the engine."""
        return any(
            context.session.active and context.session.transaction_active
            for context in self._session_store._sessions.values()
        )

    async def _dispatch_waiting(self, header: Any, payload: bytes, connection: Any) -> Any:
        dispatch = super()._dispatch_wire_request
        response = await dispatch(header, payload, connection=connection)
        if not is_busy_refusal(response):
            return response
        self.waited_requests += 1
        deadline = time.monotonic() + self.wait_limit
        delay = 0.001
        while is_busy_refusal(response) and time.monotonic() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)
            if self._client_gone():
                # The client is gone: nobody will read the answer, so the request is not run.
                self.dropped_requests += 1
                return response
            response = await dispatch(header, payload, connection=connection)
        return response

    def abort_expired_transactions(self, now: float | None = None) -> int:
        """Abort transactions open for longer than ``transaction_lifetime``; return how many."""
        now = time.monotonic() if now is None else now
        sessions = self._session_store._sessions
        for key in set(self._open_transactions) - set(sessions):
            del self._open_transactions[key]
        aborted = 0
        for key, context in list(sessions.items()):
            session = context.session
            if not (session.active and session.transaction_active):
                self._open_transactions.pop(key, None)
                continue
            number = session.transaction_number
            seen = self._open_transactions.get(key)
            if seen is None or seen[0] != number:
                self._open_transactions[key] = (number, now)
            elif now - seen[1] >= self.transaction_lifetime:
                session.abort_transaction()
                del self._open_transactions[key]
                aborted += 1
        self.expired_transactions += aborted
        return aborted

    async def _abort_expired_transactions_forever(self) -> None:
        interval = min(1.0, max(0.05, self.transaction_lifetime / 10))
        while True:
            await asyncio.sleep(interval)
            try:
                aborted = self.abort_expired_transactions()
                if self.gate.owner is not None and not self.transaction_open():
                    # Its client went away, or ended its session, with no commit or abort.
                    await self.gate.release_transaction()
            except Exception as error:  # keep serving; report and try again
                print(f"mongo-standin: transaction reaper failed: {error!r}", file=sys.stderr)
                continue
            if aborted:
                print(
                    f"mongo-standin: aborted {aborted} transaction(s) open longer than "
                    f"{self.transaction_lifetime:g} s",
                    file=sys.stderr,
                    flush=True,
                )
