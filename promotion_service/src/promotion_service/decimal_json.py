"""Parse JSON request bodies with numbers as Decimal, so money never passes through a float."""

import json
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"non-standard JSON constant {name}", name, 0)


class DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            # Integers as Decimal too: exact, and free of int()'s 4300-digit limit.
            self._json = json.loads(
                body, parse_float=Decimal, parse_int=Decimal, parse_constant=_refuse_constant
            )
        return self._json


class DecimalJSONRoute(APIRoute):
    """An APIRoute whose handlers see DecimalJSONRequest."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def decimal_handler(request: Request) -> Response:
            return await handler(DecimalJSONRequest(request.scope, request.receive))

        return decimal_handler
