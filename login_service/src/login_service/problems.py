"""The one place that turns errors into RFC 9457 ``application/problem+json`` responses."""

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from login_service.errors import (
    AccountConflict,
    DomainError,
    InvalidCredentials,
    InvalidField,
    NotAuthenticated,
    Throttled,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:bank:login:problem:"


log = structlog.get_logger("login_service.problems")


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the offending field, e.g. 'email'.")
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    field: str | None = Field(default=None, description="The taken field (409 only).")
    errors: list[FieldProblem] | None = None


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
    (Throttled, 429),
    (InvalidCredentials, 401),
    (NotAuthenticated, 401),
]


def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next((code for cls, code in _DOMAIN_STATUS if isinstance(exc, cls)), 400)
    headers: dict[str, str] = {}
    extra: dict[str, Any] = {}
    if isinstance(exc, Throttled):
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


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_field_problem(error) for error in exc.errors()]
    return problem_response(
        request, 422, "validation-error", "The request is not valid.", errors=errors
    )


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a bare 400 for a body that is not UTF-8: malformed JSON like any
        # other, which every route documents as 422.
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


def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database_unavailable", error=type(exc).__name__, path=request.url.path)
    return problem_response(
        request,
        503,
        "service-unavailable",
        "The service cannot reach its database. Try again later.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


_FASTAPI_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"


def tidy_problem_content(spec: dict[str, Any]) -> dict[str, Any]:
    """Problems are only ``application/problem+json``: drop the JSON twin FastAPI adds, and
    its default 422 body, which this service never sends (its 422s are problems)."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            for status, response in list(responses.items()):
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
                schema = content.get("application/json", {}).get("schema", {})
                if schema.get("$ref") == _FASTAPI_VALIDATION_ERROR:
                    del responses[status]
    schemas = spec.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return spec


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers; unexpected errors become 500 problems in the middleware."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for error in DATABASE_UNAVAILABLE:
        app.add_exception_handler(error, _database_unavailable)


_EXAMPLES: dict[int, dict[str, Any]] = {
    401: {"code": "invalid-credentials", "detail": "The identifier or the password is incorrect."},
    409: {
        "code": "account-conflict",
        "detail": "An account with this email already exists.",
        "field": "email",
    },
    413: {"code": "payload-too-large", "detail": "The request body must not exceed 16384 bytes."},
    422: {
        "code": "validation-error",
        "detail": "The request is not valid.",
        "errors": [
            {
                "field": "password",
                "message": "password must be at least 12 characters long",
                "type": "value_error",
            }
        ],
    },
    429: {
        "code": "too-many-login-failures",
        "detail": "Too many failed login attempts. Try again later.",
    },
    503: {
        "code": "service-unavailable",
        "detail": "The service cannot reach its database. Try again later.",
    },
}


def _example(status: int) -> dict[str, Any]:
    example = dict(_EXAMPLES.get(status, {"code": "error", "detail": None}))
    code = example.pop("code")
    return {
        "type": PROBLEM_TYPE_BASE + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "instance": "/v1/auth/login",
        "request_id": "9f2c1d0e5b7a4c3e8d6f1a2b3c4d5e6f",
        **example,
    }


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries (schema and example) for the problems a route may answer."""
    descriptions = {
        401: "Not authenticated (one generic answer).",
        409: "A unique field is already taken; `field` names it.",
        413: "Request body too large.",
        422: "Invalid input; `errors` lists each field.",
        429: "Too many attempts (failed logins, or registrations from one network); retry after "
        "`Retry-After` seconds.",
        503: "The database cannot be reached; retry after `Retry-After` seconds.",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(status, HTTPStatus(status).phrase),
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "schema": {"$ref": "#/components/schemas/Problem"},
                    "example": _example(status),
                }
            },
        }
        for status in statuses
    }
