"""Error responses of the OAuth2 token endpoint (RFC 6749 section 5.2).

OAuth2 clients (Swagger's Authorize button, generated clients) read ``error`` from a
JSON body, not a problem document, so this endpoint answers in their terms. A throttled
request keeps 429 and ``Retry-After`` and says ``slow_down``, the token-endpoint code
registered by RFC 8628.
"""

from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

OAuth2ErrorCode = Literal["invalid_request", "invalid_grant", "unsupported_grant_type", "slow_down"]

# RFC 6749 section 5.1 and 5.2: token responses, errors included, are never cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuth2Error(BaseModel):
    """An OAuth2 error (RFC 6749 section 5.2)."""

    error: OAuth2ErrorCode
    error_description: str


def oauth2_error(
    status: int, error: OAuth2ErrorCode, description: str, retry_after: int | None = None
) -> JSONResponse:
    headers = dict(NO_STORE)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    body = OAuth2Error(error=error, error_description=description).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


class OAuth2ErrorRoute(APIRoute):
    """A token-endpoint route: a form it cannot read is ``invalid_request``, not a 422 problem.

    OAuth2 clients understand only RFC 6749 errors; the body's field names are left out,
    like any other detail of the submitted credentials.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_oauth2(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError:
                return oauth2_error(
                    400, "invalid_request", "grant_type, username and password must be text."
                )

        return handle_as_oauth2


def _example(error: OAuth2ErrorCode, description: str) -> dict[str, Any]:
    return {"value": {"error": error, "error_description": description}}


OAUTH2_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuth2Error,
        "description": "`invalid_grant`: the identifier or the password is incorrect (one "
        "answer for both); `invalid_request`: a required field is missing, too long or not "
        "text; "
        "`unsupported_grant_type`: `grant_type` is not `password`.",
        "content": {
            "application/json": {
                "examples": {
                    "invalid_grant": _example(
                        "invalid_grant", "The identifier or the password is incorrect."
                    ),
                    "invalid_request": _example(
                        "invalid_request", "The request must include username and password."
                    ),
                    "unsupported_grant_type": _example(
                        "unsupported_grant_type", "Only the password grant is supported."
                    ),
                }
            }
        },
    },
    429: {
        "model": OAuth2Error,
        "description": "`slow_down`: too many failed logins; retry after `Retry-After` seconds.",
        "headers": {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
        },
        "content": {
            "application/json": {
                "example": {
                    "error": "slow_down",
                    "error_description": "Too many failed login attempts. Try again later.",
                }
            }
        },
    },
}
