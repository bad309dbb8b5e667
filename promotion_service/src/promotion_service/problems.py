"""Every error as application/problem+json (RFC 9457); the one place that knows HTTP statuses.

The body has the login service's shape, so a frontend reads both APIs' errors alike:
``type`` (``urn:bank:promotion:problem:<name>``), ``title``, ``status``, ``detail``,
``instance`` (the request path), ``request_id`` (the response's X-Request-ID) and, for
invalid input, ``errors: [{field, message, type}]``.
"""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from promotion_service.auth.exceptions import InvalidToken, JwksUnavailable, NotAuthenticated
from promotion_service.campaigns.exceptions import CampaignNotFound
from promotion_service.vouchers.exceptions import (
    InvalidAmount,
    PurchaseRedeemedWithOtherAmount,
    VoucherAlreadyRedeemed,
    VoucherExpired,
    VoucherNotFound,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:bank:promotion:problem:"
# How long a client should wait before retrying after a 503 (dependency unavailable).
RETRY_AFTER_SECONDS = 5
# MongoDB unreachable (ServerSelectionTimeoutError, NetworkTimeout, AutoReconnect, ... are
# ConnectionFailures) or too slow to answer: the request may succeed later. Same as the login.
DATABASE_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)

log = structlog.get_logger(__name__)

# exception -> (status, type name, title, detail)
_DOMAIN: dict[type[Exception], tuple[int, str, str, str]] = {
    NotAuthenticated: (
        401,
        "not-authenticated",
        "Not authenticated",
        "A bearer token is required.",
    ),
    VoucherNotFound: (404, "voucher-not-found", "Voucher not found", "No such voucher for you."),
    CampaignNotFound: (404, "campaign-not-found", "Campaign not found", "No such campaign."),
    VoucherAlreadyRedeemed: (
        409,
        "voucher-already-redeemed",
        "Voucher already redeemed",
        "This voucher was used for another purchase.",
    ),
    PurchaseRedeemedWithOtherAmount: (
        409,
        "purchase-redeemed-with-other-amount",
        "Purchase already redeemed with another amount",
        "This purchase_id was redeemed with a different amount or currency.",
    ),
    VoucherExpired: (410, "voucher-expired", "Voucher expired", "This voucher has expired."),
    JwksUnavailable: (
        503,
        "token-keys-unavailable",
        "Token keys unavailable",
        "Tokens cannot be checked right now; try again shortly.",
    ),
}

# Framework errors (unknown route, wrong method, body over the limit): type name, title, detail.
_HTTP: dict[int, tuple[str, str, str | None]] = {
    404: ("not-found", "Not found", "No such resource."),
    405: ("method-not-allowed", "Method not allowed", "Method not allowed on this resource."),
    413: ("payload-too-large", "Request body too large", None),
}


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. 'amount'.")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": f"{PROBLEM_TYPE_BASE}voucher-not-found",
                    "title": "Voucher not found",
                    "status": 404,
                    "detail": "No such voucher for you.",
                    "instance": "/v1/vouchers/8d0c6f5e-2b1a-4c3d-9e8f-7a6b5c4d3e2f/redeem",
                    "request_id": "9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The path of the request.")
    request_id: str | None = Field(default=None, description="The response's X-Request-ID.")
    errors: list[FieldProblem] | None = None


def problem_response(
    request: Request | None,
    status: int,
    name: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem response; ``request`` supplies ``instance`` and ``request_id``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + name,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        # Set by RequestContextMiddleware, which also sends it as X-Request-ID.
        body["request_id"] = getattr(request.state, "request_id", None)
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def payload_too_large_response(request: Request | None, detail: str) -> JSONResponse:
    name, title, _ = _HTTP[413]
    return problem_response(request, 413, name, title, detail, headers={"Connection": "close"})


def internal_error_response(request: Request | None) -> JSONResponse:
    """The 500 problem: no detail about what failed ever leaves the process."""
    return problem_response(
        request, 500, "internal-error", "Internal error", "An unexpected error occurred."
    )


def _field_path(loc: Sequence[int | str]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    # Never echo the submitted input back: only where and what.
    return [
        {
            "field": _field_path(tuple(error.get("loc", ()))),
            "message": str(error.get("msg", "invalid value")).removeprefix("Value error, "),
            "type": str(error.get("type", "value_error")),
        }
        for error in raw
    ]


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status, name, title, detail = _DOMAIN[type(exc)]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    return problem_response(request, status, name, title, detail, headers=headers)


async def _invalid_token(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidToken)
    return problem_response(
        request,
        401,
        "invalid-token",
        "Invalid token",
        exc.reason,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def _invalid_amount(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidAmount)
    errors = [{"field": exc.field, "message": exc.reason, "type": "value_error"}]
    return problem_response(
        request, 422, "validation-error", "Invalid request", exc.reason, errors=errors
    )


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        request,
        422,
        "validation-error",
        "Invalid request",
        "The request is not valid.",
        errors=_field_errors(exc.errors()),
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Type only: pymongo's messages list the servers and their state.
    log.warning("database_unavailable", error=type(exc).__name__, path=request.url.path)
    return problem_response(
        request,
        503,
        "service-unavailable",
        "Service unavailable",
        "The service cannot reach its database. Try again later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    phrase = HTTPStatus(status).phrase
    default_name = phrase.lower().replace(" ", "-").replace("'", "")
    name, title, detail = _HTTP.get(status, (default_name, phrase, None))
    if detail is None and isinstance(exc.detail, str) and exc.detail != phrase and status < 500:
        detail = exc.detail
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, status, name, title, detail, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return internal_error_response(request)


def install_problem_handlers(app: FastAPI) -> None:
    for exc_type in _DOMAIN:
        app.add_exception_handler(exc_type, _domain_error)
    app.add_exception_handler(InvalidToken, _invalid_token)
    app.add_exception_handler(InvalidAmount, _invalid_amount)
    app.add_exception_handler(RequestValidationError, _validation_failed)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def tidy_problem_content(spec: dict[str, Any]) -> dict[str, Any]:
    """Problems are only ``application/problem+json``; drop the JSON twin FastAPI adds."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
    return spec


_EXAMPLES: dict[int, dict[str, Any]] = {
    401: {
        "type": "invalid-token",
        "title": "Invalid token",
        "detail": "The token has expired.",
    },
    404: {
        "type": "voucher-not-found",
        "title": "Voucher not found",
        "detail": "No such voucher for you.",
    },
    409: {
        "type": "voucher-already-redeemed",
        "title": "Voucher already redeemed",
        "detail": "This voucher was used for another purchase.",
    },
    410: {
        "type": "voucher-expired",
        "title": "Voucher expired",
        "detail": "This voucher has expired.",
    },
    413: {
        "type": "payload-too-large",
        "title": "Request body too large",
        "detail": "The request body must not exceed 16384 bytes.",
    },
    422: {
        "type": "validation-error",
        "title": "Invalid request",
        "detail": "The request is not valid.",
        "errors": [
            {
                "field": "amount",
                "message": "EUR amounts have at most 2 decimal places",
                "type": "value_error",
            }
        ],
    },
    503: {
        "type": "service-unavailable",
        "title": "Service unavailable",
        "detail": "The service cannot reach its database. Try again later.",
    },
}

_DESCRIPTIONS: dict[int, str] = {
    401: "Not authenticated: no token, or a token refused (`WWW-Authenticate: Bearer`).",
    404: "Not found.",
    409: "Conflict with the resource's state.",
    410: "Gone.",
    413: "Request body too large.",
    422: "Invalid input; `errors` lists each field.",
    503: "A dependency (database, token keys) is unavailable; retry after `Retry-After` seconds.",
}


def _example(status: int) -> dict[str, Any]:
    example = dict(_EXAMPLES.get(status, {"type": "error", "title": HTTPStatus(status).phrase}))
    return {
        "type": PROBLEM_TYPE_BASE + example.pop("type"),
        "title": example.pop("title"),
        "status": status,
        "detail": example.pop("detail", None),
        "instance": "/v1/vouchers/8d0c6f5e-2b1a-4c3d-9e8f-7a6b5c4d3e2f/redeem",
        "request_id": "9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f",
        **example,
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries (schema and example) for the problems a route can answer."""
    return {
        status: {
            "model": Problem,
            "description": _DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": _example(status),
                }
            },
        }
        for status in statuses
    }
