"""MongoDB goes away while the API runs: requests get 503 + Retry-After, never a 500.

A MongoDB wire server of the test's own is started, the API starts against it, then the
server is stopped: every request after that meets a real connection failure (pymongo's
ServerSelectionTimeoutError/AutoReconnect), nothing is mocked.
"""

from contextlib import ExitStack
from pathlib import Path

from promotion_service import create_app
from promotion_service.config import Settings
from tests.conftest import launched_standin
from tests.integration.api_fixtures import Keys, assert_problem, bearer, started
from tests.jwks_server import make_token

ORIGIN = "https://app.bank"


async def test_requests_during_a_mongodb_outage_are_503_with_retry_after(
    api_settings: Settings, keys: Keys, tmp_path: Path
) -> None:
    token = make_token(keys.rs256, "acct-me")
    with ExitStack() as database_server:
        uri = database_server.enter_context(launched_standin(tmp_path / "outage.sqlite"))
        settings = api_settings.model_copy(
            update={"mongodb_uri": uri, "mongodb_timeout_ms": 500, "cors_origins": [ORIGIN]}
        )
        app = create_app(settings)
        async with started(app, "http://t") as client:
            before = await client.get("/v1/campaigns/first-login")
            assert before.status_code == 200, before.text

            database_server.close()  # the outage: the server process is gone

            campaign = await client.get(
                "/v1/campaigns/first-login", headers={"X-Request-ID": "outage-1", "Origin": ORIGIN}
            )
            listing = await client.get("/v1/vouchers", headers=bearer(token))
            redeem = await client.post(
                "/v1/vouchers/some-voucher/redeem",
                json={"amount": "10.00", "currency": "EUR", "purchase_id": "p-1"},
                headers=bearer(token),
            )
            readiness = await client.get("/readyz")

    for response in (campaign, listing, redeem):
        problem = assert_problem(response, 503, "service-unavailable")
        assert problem["title"] == "Service unavailable"
        assert response.headers["retry-after"] == "5"
        assert "mongo" not in response.text.lower()  # no server names or driver messages
    assert campaign.json()["request_id"] == "outage-1"
    assert campaign.json()["instance"] == "/v1/campaigns/first-login"
    assert campaign.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in campaign.headers["access-control-expose-headers"].lower()
    assert readiness.status_code == 503
    assert readiness.json()["checks"]["mongodb"].startswith("error")
