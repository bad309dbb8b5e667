"""A database error the API cannot classify is a 503 with Retry-After, never a 500."""

import json

import httpx
import pytest
from fastapi import FastAPI
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from promotion_service.logs import configure_logging
from promotion_service.problems import install_problem_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/refused")
    async def refused() -> None:
        raise OperationFailure("stored value 'secret-voucher-17' cannot be added", code=14)

    @app.get("/unreachable")
    async def unreachable() -> None:
        raise ServerSelectionTimeoutError("no primary")

    return app


async def test_any_database_error_is_503_with_retry_after_and_a_log_line_without_values(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(json_logs=True)
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        refused = await client.get("/refused")
        unreachable = await client.get("/unreachable")

    for response in (refused, unreachable):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.headers["content-type"] == "application/problem+json"
    assert "could not complete" in refused.json()["detail"]
    assert "cannot reach" in unreachable.json()["detail"]
    logged = capsys.readouterr()
    text = logged.out + logged.err
    assert "secret-voucher-17" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("event") == "database_error"]
    assert [(line["error"], line["code"], line["path"]) for line in errors] == [
        ("OperationFailure", 14, "/refused")
    ]
