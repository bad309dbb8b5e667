"""The OpenAPI side of problems: the Problem schema, its examples, and `responses=` entries."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:bank:login:problem:"


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


def document_problems_only_as_problem_json(app: FastAPI) -> None:
    """Make the app's OpenAPI document list problems as ``application/problem+json`` only
    (``tidy_problem_content``), generated once and kept."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = tidy_problem_content(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


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
        429: "Too many attempts (failed logins, logins waiting for a place among the attempts "
        "in flight, or registrations from one network); retry after `Retry-After` seconds.",
        503: "The database cannot be reached, or failed the operation, or more password checks "
        "wait than the service hashes in a few seconds (`service-busy`); retry after "
        "`Retry-After` seconds.",
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
