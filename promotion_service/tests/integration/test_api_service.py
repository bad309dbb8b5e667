"""Campaign route, health, request ids, CORS, metrics and the OpenAPI document."""

import json

import httpx
import pytest

from promotion_service import create_app
from promotion_service.config import Settings
from promotion_service.db import CAMPAIGNS, Database
from tests.integration.api_fixtures import Keys, assert_problem, bearer, started
from tests.jwks_server import make_token


async def test_the_configured_campaign_exists_from_start_up(
    client: httpx.AsyncClient, db: Database
) -> None:
    await db[CAMPAIGNS].update_one({"_id": "first-login"}, {"$set": {"slots_claimed": 42}})

    response = await client.get("/v1/campaigns/first-login")

    assert response.status_code == 200
    assert response.json() == {
        "id": "first-login",
        "discount_percent": 30,
        "slots_total": 100,
        "slots_claimed": 42,
        "status": "active",
    }


async def test_a_campaign_with_every_slot_claimed_is_exhausted(
    client: httpx.AsyncClient, db: Database
) -> None:
    await db[CAMPAIGNS].update_one({"_id": "first-login"}, {"$set": {"slots_claimed": 100}})

    response = await client.get("/v1/campaigns/first-login")

    assert response.json()["status"] == "exhausted"


async def test_an_unknown_campaign_is_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/campaigns/no-such-campaign")

    problem = assert_problem(response, 404, "campaign-not-found")
    assert problem["title"] == "Campaign not found"
    assert problem["detail"] == "No such campaign."


async def test_a_404_problem_names_the_request_path_and_the_request_id(
    client: httpx.AsyncClient,
) -> None:
    sent = await client.get("/v1/campaigns/no-such-campaign", headers={"X-Request-ID": "req-404"})
    generated = await client.get("/nowhere/at/all")

    assert sent.json()["instance"] == "/v1/campaigns/no-such-campaign"
    assert sent.json()["request_id"] == "req-404" == sent.headers["x-request-id"]
    assert generated.json()["instance"] == "/nowhere/at/all"
    assert generated.json()["request_id"] == generated.headers["x-request-id"]
    assert len(generated.json()["request_id"]) == 32


async def test_a_422_problem_names_the_request_path_the_request_id_and_each_field(
    client: httpx.AsyncClient, db: Database, keys: Keys
) -> None:
    too_long = "c" * 65
    path_problem = await client.get(f"/v1/campaigns/{too_long}", headers={"X-Request-ID": "r-1"})
    body_problem = await client.post(
        "/v1/vouchers/some-voucher/redeem",
        json={"amount": "10.00", "currency": "EUR"},
        headers={**bearer(make_token(keys.rs256, "acct-me")), "X-Request-ID": "r-2"},
    )

    first = assert_problem(path_problem, 422, "validation-error")
    assert first["instance"] == f"/v1/campaigns/{too_long}"
    assert first["request_id"] == "r-1"
    assert first["errors"] == [
        {
            "field": "campaign_id",
            "message": "String should have at most 64 characters",
            "type": "string_too_long",
        }
    ]
    second = assert_problem(body_problem, 422, "validation-error")
    assert second["instance"] == "/v1/vouchers/some-voucher/redeem"
    assert second["request_id"] == "r-2"
    assert second["errors"] == [
        {"field": "purchase_id", "message": "Field required", "type": "missing"}
    ]


async def test_health_and_readiness_answer(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz")
    ready = await client.get("/readyz")

    assert health.status_code == 200
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"mongodb": "ok", "jwks": "ok"}}


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("abc-123_X.y", True), ("x" * 129, False), ("bad id!", False), (None, False)],
)
async def test_every_response_carries_a_request_id_the_callers_if_sane(
    client: httpx.AsyncClient, sent: str | None, echoed: bool
) -> None:
    headers = {"X-Request-ID": sent} if sent else {}

    responses = [
        await client.get("/healthz", headers=headers),
        await client.get("/v1/vouchers", headers=headers),  # 401
        await client.get("/nowhere", headers=headers),  # 404
    ]

    for response in responses:
        request_id = response.headers["x-request-id"]
        assert (request_id == sent) is echoed
        assert len(request_id) <= 128


async def test_unknown_routes_and_methods_are_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    wrong_method = await client.delete("/v1/vouchers")

    assert assert_problem(missing, 404, "not-found")["detail"] == "No such resource."
    assert_problem(wrong_method, 405, "method-not-allowed")
    assert wrong_method.headers["allow"] == "GET"


async def test_cors_allows_the_configured_origins_only(client: httpx.AsyncClient) -> None:
    def preflight(origin: str) -> dict[str, str]:
        return {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        }

    allowed = await client.options("/v1/vouchers", headers=preflight("http://localhost:3000"))
    refused = await client.options("/v1/vouchers", headers=preflight("https://evil.example"))

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "access-control-allow-origin" not in refused.headers


async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/v1/campaigns/first-login")

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert 'route="/v1/campaigns/{campaign_id}"' in response.text
    assert "promotion_http_requests_total" in response.text


async def test_every_operation_documents_its_responses_and_examples(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("responses"), (method, path)
            assert operation.get("summary"), (method, path)
    assert set(document["paths"]["/v1/vouchers/{voucher_id}/redeem"]["post"]["responses"]) >= {
        "200",
        "401",
        "404",
        "409",
        "410",
        "413",
        "422",
        "503",
    }
    schemas = document["components"]["schemas"]
    for name in ("RedeemRequest", "RedemptionOut", "VoucherOut", "CampaignOut", "Problem"):
        assert schemas[name].get("examples"), name


async def test_openapi_documents_problems_only_as_problem_json(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    problem_responses = 0
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if int(status) < 400 or "content" not in response:
                    continue
                if "application/problem+json" in response["content"]:
                    problem_responses += 1
                    assert list(response["content"]) == ["application/problem+json"], status
                    example = response["content"]["application/problem+json"]["example"]
                    assert example["type"].startswith("urn:bank:promotion:problem:")
                    assert example["status"] == int(status)
    assert problem_responses >= 10
    problem = document["components"]["schemas"]["Problem"]["properties"]
    assert set(problem) == {"type", "title", "status", "detail", "instance", "request_id", "errors"}
    field_problem = document["components"]["schemas"]["FieldProblem"]["properties"]
    assert set(field_problem) == {"field", "message", "type"}


async def test_each_request_logs_one_line_with_its_request_id_and_never_the_token(
    api_settings: Settings, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(api_settings.model_copy(update={"log_format": "json"}))
    token = make_token(keys.rs256, "acct-logged")
    async with started(app, "http://t") as c:
        capsys.readouterr()
        await c.get("/v1/vouchers", headers={**bearer(token), "X-Request-ID": "req-42"})
        await c.get("/v1/vouchers", headers=bearer(token + "x"))
        output = capsys.readouterr().err

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "request"]
    assert len(requests) == 2
    assert requests[0]["request_id"] == "req-42"
    assert requests[0]["account_id"] == "acct-logged"
    assert requests[0]["status"] == 200
    assert requests[1]["status"] == 401
    assert token not in output


async def test_an_unexpected_error_is_a_500_problem_with_a_request_id_and_no_details(
    api_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(api_settings.model_copy(update={"log_format": "json"}))

    async def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/boom", boom)
    async with started(app, "http://t") as c:
        response = await c.get("/boom")

    problem = assert_problem(response, 500, "internal-error")
    assert problem["instance"] == "/boom"
    assert "secret internals" not in response.text
    logged = capsys.readouterr().err
    assert '"unhandled_error"' in logged
    assert "secret internals" not in logged  # type and place only


async def test_metrics_count_mongodb_commands_by_name(client: httpx.AsyncClient) -> None:
    await client.get("/v1/campaigns/first-login")

    response = await client.get("/metrics")

    assert 'mongodb_commands_total{command="find"}' in response.text
