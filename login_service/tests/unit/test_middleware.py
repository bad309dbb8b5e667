"""The outermost middleware: 500 problems without internals, request ids, body limit."""

import json

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from login_service.config import Settings
from login_service.logs import configure_logging
from login_service.metrics import ServiceMetrics
from login_service.middleware import RequestContextMiddleware, request_id_from
from login_service.problems import install_problem_handlers


def _app() -> FastAPI:
    configure_logging(Settings(log_format="json"))
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret-internal-detail")

    @app.get("/refused")
    async def refused() -> None:
        raise OperationFailure("WriteConflict", code=112)

    @app.get("/unreachable")
    async def unreachable() -> None:
        raise ServerSelectionTimeoutError("no primary")

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    app.add_middleware(RequestContextMiddleware, max_body_bytes=1024, metrics=ServiceMetrics())
    return app


async def test_an_unexpected_error_is_a_500_problem_without_internals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom", headers={"X-Request-ID": "abc-1"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "abc-1"
    assert response.json()["request_id"] == "abc-1"
    assert "secret-internal-detail" not in response.text
    logged = capsys.readouterr().err
    assert "secret-internal-detail" not in logged
    lines = [json.loads(line) for line in logged.splitlines()]
    (error,) = [line for line in lines if line["level"] == "error"]
    assert (error["event"], error["error"]) == ("unhandled_error", "RuntimeError")


async def test_database_errors_are_503_with_retry_after_on_any_route() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        refused = await client.get("/refused")
        unreachable = await client.get("/unreachable")

    for response in (refused, unreachable):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["type"] == "urn:bank:login:problem:service-unavailable"
    assert "could not complete" in refused.json()["detail"]
    assert "cannot reach" in unreachable.json()["detail"]


async def test_bodies_within_the_limit_pass_and_larger_ones_are_413() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        small = await client.post("/echo", json={"a": "b"})
        large = await client.post("/echo", json={"a": "b" * 2000})

    assert small.json() == {"a": "b"}
    assert large.status_code == 413
    assert large.headers["x-request-id"]


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        (b"req-1.A_b", True),
        (b"x" * 129, False),
        (b"has space", False),
        (b"", False),
        (b"trailing-newline\n", False),
    ],
)
def test_only_sane_request_ids_are_kept(header: bytes, kept: bool) -> None:
    request_id = request_id_from([(b"x-request-id", header)])
    assert (request_id == header.decode()) is kept
