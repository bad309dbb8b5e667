"""Health, readiness, metrics, request ids, CORS and what the logs may never contain."""

import json
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, account_payload, running_app

pytestmark = pytest.mark.integration


async def test_secrets_never_reach_the_logs(
    make_settings: Any,
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong_password = "Wrong-But-Secret-Guess-99"
    settings = make_settings(log_format="json", log_level="DEBUG")
    async with running_app(settings) as (_, client):
        await client.post("/v1/accounts", json=account_payload(1))
        login = await client.post(
            "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}
        )
        token = login.json()["access_token"]
        await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {token}"})
        await client.post(
            "/v1/auth/login", json={"identifier": "user1", "password": wrong_password}
        )
        await client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": "user1", "password": wrong_password},
        )
    stored = await mongo[database_name]["accounts"].find_one({"username_key": "user1"})
    assert stored is not None

    text = capsys.readouterr().err
    for secret in (TEST_PASSWORD, wrong_password, token, stored["password_hash"], "argon2id"):
        assert secret not in text
    assert "PRIVATE KEY" not in text
    request_lines = [line for line in _lines(text) if line["logger"] == "login_service.http"]
    assert len(request_lines) == 5


def _lines(text: str) -> list[dict[str, Any]]:
    """The JSON lines the service wrote to stderr (every line is one)."""
    return [json.loads(line) for line in text.splitlines()]


async def test_each_request_logs_one_json_line_with_its_request_id(
    make_settings: Any, mongo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_app(make_settings(log_format="json")) as (_, client):
        capsys.readouterr()
        response = await client.get("/healthz", headers={"X-Request-ID": "trace-abc.1"})

    assert response.headers["x-request-id"] == "trace-abc.1"
    lines = _lines(capsys.readouterr().err)
    (line,) = [line for line in lines if line["logger"] == "login_service.http"]
    assert line["request_id"] == "trace-abc.1"
    assert line["method"] == "GET"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert "duration_ms" in line


async def test_a_login_is_one_log_line_carrying_its_outcome_and_nothing_leaks_to_the_next(
    make_settings: Any, mongo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    async with running_app(make_settings(log_format="json")) as (_, client):
        await client.post("/v1/accounts", json=account_payload(1))
        capsys.readouterr()
        login = await client.post(
            "/v1/auth/login", json={"identifier": "user1", "password": TEST_PASSWORD}
        )
        await client.get("/healthz")

    lines = _lines(capsys.readouterr().err)
    service_lines = [
        line
        for line in lines
        if line["logger"].startswith("login_service") and line["event"] != "stopped"
    ]
    first, health = service_lines
    assert first["path"] == "/v1/auth/login"
    assert first["request_id"] == login.headers["x-request-id"]
    assert first["login"] == "success"
    assert first["first_login_order"] == 1
    assert "account_id" in first
    assert health["path"] == "/healthz"
    assert "account_id" not in health
    assert "login" not in health


async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})

    assert response.headers["x-request-id"] != "bad id with spaces"
    assert len(response.headers["x-request-id"]) == 32


async def test_readyz_names_each_dependency(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"mongodb": "ok", "rabbitmq": "ok"}}


async def test_readyz_reports_the_broker_down_without_failing_logins(
    make_settings: Any, mongo: Any
) -> None:
    settings = make_settings(
        rabbitmq_url="amqp://guest:guest@127.0.0.1:1/", readiness_requires_broker=True
    )
    async with running_app(settings) as (_, client):
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["mongodb"] == "ok"
    assert response.json()["checks"]["rabbitmq"].startswith("error")


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert 'login_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


async def test_metrics_show_the_outbox_backlog_while_the_broker_is_away(
    make_settings: Any,
) -> None:
    settings = make_settings(rabbitmq_url="amqp://guest:guest@127.0.0.1:1/")
    async with running_app(settings) as (_, client):
        before = _samples((await client.get("/metrics")).text)
        for number in (1, 2):
            await client.post("/v1/accounts", json=account_payload(number))
            login = await client.post(
                "/v1/auth/login", json={"identifier": f"user{number}", "password": TEST_PASSWORD}
            )
            assert login.status_code == 200
        after = _samples((await client.get("/metrics")).text)

    assert before["login_outbox_pending_events"] == 0
    assert before["login_outbox_oldest_pending_age_seconds"] == 0
    assert after["login_outbox_pending_events"] == 2
    assert 0 < after["login_outbox_oldest_pending_age_seconds"] < 60


def _samples(exposition: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if not sample.labels
    }


async def test_responses_are_not_cached_or_sniffed_unless_a_route_allows_caching(
    client: httpx.AsyncClient,
) -> None:
    health = await client.get("/healthz")
    missing = await client.get("/no/such/route")
    jwks = await client.get("/.well-known/jwks.json")

    for response in (health, missing, jwks):
        assert response.headers["x-content-type-options"] == "nosniff"
    assert health.headers["cache-control"] == "no-store"
    assert missing.headers["cache-control"] == "no-store"
    assert jwks.headers["cache-control"] == "public, max-age=300"


async def test_cors_allows_the_local_dev_origins_by_default(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/v1/auth/login",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    )
    foreign = await client.options(
        "/v1/auth/login",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "access-control-allow-origin" not in foreign.headers


async def test_openapi_documents_problems_on_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    assert "Problem" in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("responses"), f"{method} {path}"
    login = spec["paths"]["/v1/auth/login"]["post"]
    assert {"401", "422", "429"} <= set(login["responses"])
