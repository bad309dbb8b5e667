"""The one place that turns errors into RFC 9457 ``application/problem+json`` responses.

Every problem body has ``type`` (``urn:bank:promotion:problem:<code>``, the code carried by
the error type in ``errors.py``), ``title`` (the same for every problem of a type: the error
type's ``title``), ``status``, ``detail`` (this occurrence, safe to show a client),
``instance`` (the request path) and ``request_id`` (the response's X-Request-ID); invalid
input adds ``errors: [{field, message, type}]``. The handlers are ``async``: Starlette runs a
plain ``def`` handler in its thread pool, a hop per error.
``tests/unit/test_problem_bodies.py`` holds the shape.
"""

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from promotion_service.errors import (
    CampaignNotFound,
    DomainError,
    InvalidAmount,
    InvalidToken,
    JwksUnavailable,
    NotAuthenticated,
    PurchaseRedeemedWithOtherAmount,
    ServiceStarting,
    VoucherAlreadyRedeemed,
    VoucherExpired,
    VoucherNotFound,
)
from promotion_service.problem_schema import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from promotion_service.raised_at import raised_at

# How long a client should wait before retrying after a 503 (dependency unavailable).
RETRY_AFTER_SECONDS = 5
# MongoDB unreachable (ServerSelectionTimeoutError, NetworkTimeout, AutoReconnect, ... are
# ConnectionFailures) or too slow to answer: the request may succeed later.
DATABASE_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)

log = structlog.get_logger("promotion_service.problems")

_DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (NotAuthenticated, 401),
    (InvalidToken, 401),
    (VoucherNotFound, 404),
    (CampaignNotFound, 404),
    (VoucherAlreadyRedeemed, 409),
    (PurchaseRedeemedWithOtherAmount, 409),
    (VoucherExpired, 410),
    (InvalidAmount, 422),
    (JwksUnavailable, 503),
    (ServiceStarting, 503),
]

# Framework errors (unknown route, wrong method, body over the limit): code, title, detail.
_HTTP: dict[int, tuple[str, str, str | None]] = {
    404: ("not-found", "Not found", "No such resource."),
    405: ("method-not-allowed", "Method not allowed", "Method not allowed on this resource."),
    413: ("payload-too-large", "Request body too large", None),
}


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a problem response; ``request`` supplies ``instance`` and ``request_id``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
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
    code, title, _ = _HTTP[413]
    return problem_response(request, 413, code, title, detail, headers={"Connection": "close"})


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


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    # Never echo the submitted input back: only where and what.
    if error.get("type") == "json_invalid":
        # The body as a whole is unreadable (malformed, or a duplicate key): its location
        # is a character offset, not a field, and the parser's reason says more than
        # FastAPI's generic message.
        reason = (error.get("ctx") or {}).get("error") or error.get("msg")
        return {"field": "body", "message": str(reason), "type": "json_invalid"}
    return {
        "field": _field_path(tuple(error.get("loc", ()))),
        "message": str(error.get("msg", "invalid value")).removeprefix("Value error, "),
        "type": str(error.get("type", "value_error")),
    }


def _field_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    return [_field_error(error) for error in raw]


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _DOMAIN_STATUS if isinstance(exc, cls)), 400)
    headers: dict[str, str] | None = None
    errors: list[dict[str, Any]] | None = None
    if isinstance(exc, NotAuthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, InvalidToken):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if isinstance(exc, InvalidAmount):
        errors = [{"field": exc.field, "message": exc.reason, "type": "value_error"}]
    return problem_response(
        request, status, exc.code, exc.title, exc.detail, errors=errors, headers=headers
    )


def _invalid_request(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    """The one 422 answer: what is wrong, field by field."""
    detail = "The request is not valid."
    return problem_response(
        request, 422, "validation-error", "Invalid request", detail, errors=errors
    )


async def _validation_failed(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _invalid_request(request, _field_errors(exc.errors()))


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


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other driver error: the database refused or failed the operation (a write conflict
    left after retries, a primary stepping down, a failed command). Nothing was left half
    written (a transaction aborts as a whole) and a later request may succeed: 503 with
    Retry-After, never a 500. Logged with type, server code and place only: a server's
    message may quote stored values."""
    log.error(
        "database_error",
        error=type(exc).__name__,
        code=getattr(exc, "code", None),
        at=raised_at(exc),
        path=request.url.path,
    )
    return problem_response(
        request,
        503,
        "service-unavailable",
        "Service unavailable",
        "The database could not complete the request. Try again later.",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, UnicodeDecodeError | RecursionError):
        # FastAPI answers a bare 400 for a body it cannot even decode (not UTF-8, nested
        # beyond the parser's depth): malformed JSON like any other, documented as 422.
        unparseable = {"field": "body", "message": "body is not parseable JSON"}
        return _invalid_request(request, [unparseable | {"type": "json_invalid"}])
    phrase = HTTPStatus(status).phrase
    default_code = phrase.lower().replace(" ", "-").replace("'", "")
    code, title, detail = _HTTP.get(status, (default_code, phrase, None))
    if detail is None and isinstance(exc.detail, str) and exc.detail != phrase and status < 500:
        detail = exc.detail
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, status, code, title, detail, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers; unexpected errors become 500 problems in the middleware."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_failed)
    # Chosen by class hierarchy, most specific first: unreachable, then any other driver error.
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(PyMongoError, _database_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
