"""The API's life as an orchestrator sees it: `/livez` at once, `/readyz` `starting` while the
database is prepared, then ready; on SIGTERM unready (`stopping`) first, then it stops."""

import asyncio
import signal
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from promotion_service import create_app
from promotion_service.config import Settings
from tests.conftest import launched_standin
from tests.integration.api_fixtures import assert_problem
from tests.integration.test_api_workers import _free_port, _ready, start_api
from tests.jwks_server import JwksServer

pytestmark = pytest.mark.integration


async def test_until_its_database_answers_the_api_is_live_starting_and_refuses_with_503(
    api_settings: Settings, tmp_path: Path
) -> None:
    port = _free_port()  # nothing listens here until the stand-in is started on it
    settings = api_settings.model_copy(
        update={"mongodb_uri": f"mongodb://127.0.0.1:{port}/", "mongodb_timeout_ms": 300}
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    with ExitStack() as database:
        async with (
            LifespanManager(app),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            live = await client.get("/livez")
            ready = await client.get("/readyz")
            campaign = await client.get("/v1/campaigns/first-login")
            assert live.status_code == 200
            assert (ready.status_code, ready.json()["status"]) == (503, "starting")
            problem = assert_problem(campaign, 503, "starting")
            assert campaign.headers["retry-after"] == "5"
            assert problem["title"] == "Service starting"

            database.enter_context(launched_standin(tmp_path / "db.sqlite3", "--port", str(port)))
            for _ in range(300):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            campaign = await client.get("/v1/campaigns/first-login")
            assert campaign.status_code == 200, campaign.text


async def test_sigterm_turns_the_api_unready_while_it_still_serves_then_it_exits(
    settings: Settings, jwks: JwksServer, tmp_path: Path
) -> None:
    port = _free_port()
    api = start_api(settings, tmp_path, jwks, port, PROMOTION_SHUTDOWN_DRAIN_SECONDS="3")
    base = f"http://127.0.0.1:{port}"
    try:
        await _ready(base, api)
        api.process.send_signal(signal.SIGTERM)
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            for _ in range(40):  # the signal reaches the supervisor, which flags the workers
                ready = await client.get("/readyz", headers={"Connection": "close"})
                if ready.json()["status"] == "stopping":
                    break
                await asyncio.sleep(0.05)
            assert ready.json() == {"status": "stopping", "checks": {}}
            campaign = await client.get("/v1/campaigns/first-login")
            assert campaign.status_code == 200, "a draining instance still serves"
        assert await api.wait(timeout=30) == 0
    finally:
        api.kill()
