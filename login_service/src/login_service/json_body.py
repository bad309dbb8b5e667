"""JSON request bodies parsed once, with a duplicate key refused at any depth.

Python's parser keeps the last of two equal keys, so ``{"username": "a", "username": "b"}``
would be read as ``b`` here while a proxy, a log pipeline or another parser in front of the
service may read ``a``. RFC 8259 leaves duplicates undefined; a bank refuses them.
"""

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

DUPLICATE_KEY_MESSAGE = "body has a duplicate key in a JSON object"


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # The parser hands every object's pairs here: a dict shorter than its pairs had a
    # duplicate. One dict build per object, the cost of the default parser's own.
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKey
    return obj


def loads_without_duplicate_keys(body: bytes) -> Any:
    """``json.loads``, raising ``json.JSONDecodeError`` when an object repeats a key.

    The key is not named in the error: the problem response never echoes the body."""
    try:
        return json.loads(body, object_pairs_hook=_object_without_duplicates)
    except _DuplicateKey:
        raise json.JSONDecodeError(DUPLICATE_KEY_MESSAGE, "", 0) from None


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_without_duplicate_keys(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """An APIRoute whose handlers parse a JSON body with ``loads_without_duplicate_keys``;
    FastAPI turns its ``JSONDecodeError`` into the usual 422 validation problem."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_json_handler(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_json_handler
