"""In production the API's map (/docs, /openapi.json) and /readyz's dependency details are not
served, unless a setting says so; in development they are."""

from typing import Any

import httpx
import pytest

from login_service.config import Settings
from login_service.main import create_app

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "mongodb_uri": "mongodb://svc:pw@db:27017/?tls=true",
    "jwt_private_key": "pem",
    "rabbitmq_url": "amqp://svc:pw@mq:5672/",
    "device_token_key": "d" * 32,
    "trusted_proxies": "none",
}


async def _get(settings: Settings, *paths: str) -> list[httpx.Response]:
    # No lifespan: the app answers as while it starts (no database needed here).
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return [await client.get(path) for path in paths]


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [({}, False), ({"api_docs": True, "readiness_details": True}, True)],
)
async def test_production_hides_the_api_map_and_readiness_details(
    overrides: dict[str, Any], shown: bool
) -> None:
    docs, document, ready = await _get(
        Settings(**PRODUCTION, **overrides), "/docs", "/openapi.json", "/readyz"
    )
    assert (docs.status_code == 200, document.status_code == 200) == (shown, shown)
    assert ready.status_code == 503
    assert ready.json()["status"] == "starting"
    assert bool(ready.json()["checks"]) is shown


async def test_development_serves_the_api_map_and_readiness_details() -> None:
    docs, document, ready = await _get(Settings(), "/docs", "/openapi.json", "/readyz")
    assert docs.status_code == document.status_code == 200
    assert ready.json()["checks"] == {"mongodb": "preparing indexes and migrations"}
