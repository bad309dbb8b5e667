"""The one place that turns errors into RFC 9457 ``application/problem+json`` responses.

Every problem body has ``type`` (``urn:bank:login:problem:<code>``, the code carried by the
error type in ``errors.py``), ``title`` (the same for every problem of a type: the HTTP
status's reason phrase), ``status``, ``detail`` (this occurrence, safe to show a client),
``instance`` (the request path) and ``request_id`` (the response's X-Request-ID); invalid
input adds ``errors: [{field, message, type}]``, a taken field ``field``. The handlers are
``async``: Starlette runs a plain ``def`` handler in its thread pool, a hop per error.
``tests/unit/test_problem_bodies.py`` holds the shape.
"""

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from login_service.errors import (
    AccountConflict,
    DomainError,
    InvalidCredentials,
    InvalidField,
    NotAuthenticated,
    ServiceStarting,
    Throttled,
    VerificationQueueFull,
)
from login_service.problem_schema import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from login_service.raised_at import raised_at

log = structlog.get_logger("login_service.problems")


def problem_response(
    request: Request | None,
    status: int,
    code: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem response; ``request`` supplies ``instance`` and ``request_id``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        body["request_id"] = getattr(request.state, "request_id", None)
    body.update({key: value for key, value in extra.items() if value is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


_DOMAIN_STATUS: list[tuple[type[DomainError], int]] = [
    (AccountConflict, 409),
    (InvalidField, 422),
    (VerificationQueueFull, 503),
    (ServiceStarting, 503),
    (Throttled, 429),
    (InvalidCredentials, 401),
    (NotAuthenticated, 401),
]


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _DOMAIN_STATUS if isinstance(exc, cls)), 400)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, Throttled | ServiceStarting):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, NotAuthenticated | InvalidCredentials):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, NotAuthenticated) and exc.code == "invalid-token":
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if isinstance(exc, AccountConflict):
        extra["field"] = exc.field
    if isinstance(exc, InvalidField):
        extra["errors"] = [{"field": exc.field, "message": exc.message, "type": "value_error"}]
    return problem_response(request, status, exc.code, exc.detail, headers=headers, **extra)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def _field_problem(error: dict[str, Any]) -> dict[str, str]:
    # Only location, message and type: never the submitted input (it may be a password).
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


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_problem(error) for error in exc.errors()]
    return problem_response(
        request, 422, "validation-error", "The request is not valid.", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, UnicodeDecodeError | RecursionError):
        # FastAPI answers a bare 400 for a body it cannot even decode (not UTF-8, nested
        # beyond the parser's depth): malformed JSON like any other, documented as 422.
        errors = [
            {"field": "body", "message": "body is not parseable JSON", "type": "json_invalid"}
        ]
        return problem_response(
            request, 422, "validation-error", "The request is not valid.", errors=errors
        )
    details = {404: "No such resource.", 405: "Method not allowed on this resource."}
    code = HTTPStatus(status).phrase.lower().replace(" ", "-")
    detail = (
        details.get(status)
        if status in details
        else (exc.detail if isinstance(exc.detail, str) and status < 500 else None)
    )
    return problem_response(request, status, code, detail, headers=dict(exc.headers or {}))


# MongoDB unreachable, or too slow to answer: the request may succeed later.
DATABASE_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)
DATABASE_RETRY_AFTER_SECONDS = 5


def _database_problem(request: Request, detail: str) -> JSONResponse:
    return problem_response(
        request,
        503,
        "service-unavailable",
        detail,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database_unavailable", error=type(exc).__name__, path=request.url.path)
    return _database_problem(request, "The service cannot reach its database. Try again later.")


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other driver error: the database refused or failed the operation.

    Whatever PyMongo could retry (a transaction's labelled transient errors) it has
    retried; what is left (a write conflict without a label, a primary stepping down, a
    failed command) left nothing half-written (a transaction aborts as a whole) and may
    succeed later. Logged with type, server code and place only: a server's message may
    quote stored values.
    """
    log.error(
        "database_error",
        error=type(exc).__name__,
        code=getattr(exc, "code", None),
        at=raised_at(exc),
        path=request.url.path,
    )
    return _database_problem(
        request, "The database could not complete the request. Try again later."
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers; unexpected errors become 500 problems in the middleware.

    Handlers are chosen by the error's class hierarchy, most specific first: the
    unreachable database's classes, then any other driver error.
    """
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)
    app.add_exception_handler(PyMongoError, _database_error)
