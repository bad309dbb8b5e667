"""The OpenAPI side of problems: the Problem schema, its examples, and `responses=` entries."""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:bank:promotion:problem:"


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


def tidy_problem_content(spec: dict[str, Any]) -> dict[str, Any]:
    """Problems are only ``application/problem+json``; drop the JSON twin FastAPI adds."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                content = response.get("content", {})
                if PROBLEM_MEDIA_TYPE in content:
                    content.pop("application/json", None)
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
