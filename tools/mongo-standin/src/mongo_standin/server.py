"""The wire server, adapted so that other sessions wait for an open transaction.

The SQLite engine refuses every request of another session while a transaction
is open ("... active transaction bound to another session", with no error code
and no retry label), where MongoDB lets reads proceed and makes conflicting
writes wait. The adaptation lives here, never in the services: a refused
request is dispatched again after a short sleep (1 ms, doubling to 20 ms) for
up to ``wait_limit`` seconds, so clients observe a server that waits.
"""

from __future__ import annotations

import asyncio
import struct
import time
from typing import Any

import bson
from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

BUSY_MESSAGE = "active transaction bound to another session"

_OP_REPLY = 1
_OP_MSG = 2013
_HEADER = struct.Struct("<iiii")


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


def is_busy_refusal(response: bytes | None) -> bool:
    """True when a response is the engine's refusal because of another session's transaction."""
    if response is None or BUSY_MESSAGE.encode() not in response:
        return False
    document = _reply_document(response)
    if document is None or document.get("ok") == 1:
        return False
    return BUSY_MESSAGE in str(document.get("errmsg", ""))


class WaitingProxyServer(AsyncMongoEcoProxyServer):
    """Proxy server whose requests wait for another session's transaction to end."""

    def __init__(self, *args: Any, wait_limit: float = 30.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wait_limit = wait_limit
        self.waited_requests = 0

    async def _dispatch_wire_request(self, header: Any, payload: bytes, *, connection: Any) -> Any:
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
            response = await dispatch(header, payload, connection=connection)
        return response
