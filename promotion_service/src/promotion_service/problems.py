"""Every error as application/problem+json (RFC 9457); the one place that knows HTTP statuses."""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
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

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://problems.bank.example/promotion/"

log = structlog.get_logger(__name__)

# exception -> (status, type slug, title, detail)
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


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": f"{TYPE_BASE}voucher-not-found",
                    "title": "Voucher not found",
                    "status": 404,
                    "detail": "No such voucher for you.",
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the problems a route can answer with."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    # Never echo the submitted input back: only where and what.
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type")}
        for error in raw
    ]


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    status, slug, title, detail = _DOMAIN[type(exc)]
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": "5"}
    return problem_response(status, slug, title, detail, headers=headers)


async def _invalid_token(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidToken)
    return problem_response(
        401,
        "invalid-token",
        "Invalid token",
        exc.reason,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def _invalid_amount(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidAmount)
    errors = [{"loc": ["body", exc.field], "msg": exc.reason, "type": "value_error"}]
    return problem_response(422, "validation-failed", "Invalid request", exc.reason, errors=errors)


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return problem_response(
        422,
        "validation-failed",
        "Invalid request",
        "The request does not match the expected shape.",
        errors=_field_errors(exc.errors()),
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    slug = phrase.lower().replace(" ", "-").replace("'", "")
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, slug, phrase, detail, headers=headers)


def internal_error_response() -> JSONResponse:
    """The 500 problem: no detail about what failed ever leaves the process."""
    return problem_response(500, "internal-error", "Internal error", "Something went wrong.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error=type(exc).__name__, exc_info=exc)
    return internal_error_response()


def install_problem_handlers(app: FastAPI) -> None:
    for exc_type in _DOMAIN:
        app.add_exception_handler(exc_type, _domain_error)
    app.add_exception_handler(InvalidToken, _invalid_token)
    app.add_exception_handler(InvalidAmount, _invalid_amount)
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
