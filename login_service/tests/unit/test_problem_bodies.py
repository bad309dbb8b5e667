"""The contract of problem bodies: every error answers application/problem+json with the same
members, whatever raised it (a domain error, invalid input, an unknown route)."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from login_service.errors import NotAuthenticated
from login_service.metrics import ServiceMetrics
from login_service.middleware import RequestContextMiddleware
from login_service.problem_schema import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from login_service.problems import install_problem_handlers

MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}


class Named(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/refused")
    async def refused() -> None:
        raise NotAuthenticated

    @app.post("/named")
    async def named(body: Named) -> Named:
        return body

    app.add_middleware(RequestContextMiddleware, max_body_bytes=1024, metrics=ServiceMetrics())
    return app


async def _problem(
    method: str, path: str, body: dict[str, object] | None = None
) -> tuple[int, dict[str, object]]:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.request(method, path, json=body, headers={"X-Request-ID": "req-42"})
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["x-request-id"] == "req-42"
    problem: dict[str, object] = response.json()
    assert problem["status"] == response.status_code
    assert problem["instance"] == path
    assert problem["request_id"] == "req-42"
    assert str(problem["type"]).startswith(PROBLEM_TYPE_BASE)
    for text in ("title", "detail"):
        assert isinstance(problem[text], str)
        assert problem[text]
    return response.status_code, problem


async def test_a_domain_error_is_a_problem_with_every_member() -> None:
    status, body = await _problem("GET", "/refused")

    assert status == 401
    assert set(body) == MEMBERS
    assert body["type"] == PROBLEM_TYPE_BASE + "not-authenticated"


async def test_invalid_input_is_a_422_problem_naming_each_field() -> None:
    status, body = await _problem("POST", "/named", {"name": 7})

    assert status == 422
    assert set(body) == MEMBERS | {"errors"}
    assert body["type"] == PROBLEM_TYPE_BASE + "validation-error"
    assert body["errors"] == [
        {"field": "name", "message": "Input should be a valid string", "type": "string_type"}
    ]


async def test_an_unknown_route_is_a_404_problem() -> None:
    status, body = await _problem("GET", "/nowhere")

    assert status == 404
    assert set(body) == MEMBERS
    assert body["type"] == PROBLEM_TYPE_BASE + "not-found"
