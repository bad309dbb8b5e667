"""Parse JSON request bodies once: numbers as Decimal, so money never passes through a float,
and a duplicate key refused at any depth.

Python's parser keeps the last of two equal keys, so ``{"amount": "1", "amount": "900"}``
would be read as 900 here while a proxy, a log pipeline or another parser in front of the
service may read 1. RFC 8259 leaves duplicates undefined; a bank refuses them.
"""

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

DUPLICATE_KEY_MESSAGE = "body has a duplicate key in a JSON object"


class _DuplicateKey(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"non-standard JSON constant {name}", name, 0)


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The parser hands every object's pairs here: a dict shorter than its pairs had a
    # duplicate. One dict build per object, the cost of the default parser's own.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


def loads_request_json(body: bytes) -> Any:
    """``json.loads`` with Decimal numbers; ``json.JSONDecodeError`` for a non-standard
    constant or an object that repeats a key (the key is not named: problems never echo
    the body)."""
    try:
        # Integers as Decimal too: exact, and free of int()'s 4300-digit limit.
        return json.loads(
            body,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_duplicates,
        )
    except _DuplicateKey:
        raise json.JSONDecodeError(DUPLICATE_KEY_MESSAGE, "", 0) from None


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_request_json(await self.body())
        return self._json


class DecimalJSONRoute(APIRoute):
    """An APIRoute whose handlers see DecimalJSONRequest; FastAPI turns its
    ``JSONDecodeError`` into the usual 422 validation problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def decimal_handler(request: Request) -> Response:
            return await handler(DecimalJSONRequest(request.scope, request.receive))

        return decimal_handler
