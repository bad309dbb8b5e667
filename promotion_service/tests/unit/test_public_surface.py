"""In production the API's map (/docs, /openapi.json) and /readyz's dependency details are not
served, unless a setting says so; in development they are."""

from typing import Any

import httpx
import pytest

from promotion_service.config import Settings
from promotion_service.main import create_app


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
    settings = Settings(
        environment="production", mongodb_uri="mongodb://svc:pw@db:27017/?tls=true", **overrides
    )
    docs, document, ready = await _get(settings, "/docs", "/openapi.json", "/readyz")
    assert (docs.status_code == 200, document.status_code == 200) == (shown, shown)
    assert ready.status_code == 503
    assert ready.json()["status"] == "starting"
    assert bool(ready.json()["checks"]) is shown


async def test_development_serves_the_api_map_and_readiness_details() -> None:
    docs, document, ready = await _get(Settings(), "/docs", "/openapi.json", "/readyz")
    assert docs.status_code == document.status_code == 200
    assert ready.json()["checks"]["mongodb"].startswith("preparing")
