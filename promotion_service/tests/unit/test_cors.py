"""CORS origins from the environment, and the headers a browser may read."""

import httpx
import pytest

from promotion_service import create_app
from promotion_service.config import Settings


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("https://app.bank", ["https://app.bank"]),
        (" https://app.bank , https://admin.bank ,", ["https://app.bank", "https://admin.bank"]),
        ('["https://app.bank", "https://admin.bank"]', ["https://app.bank", "https://admin.bank"]),
        ("[]", []),
        ("", []),
    ],
)
def test_cors_origins_accept_a_json_list_or_a_comma_separated_string(
    monkeypatch: pytest.MonkeyPatch, value: str, origins: list[str]
) -> None:
    monkeypatch.setenv("PROMOTION_CORS_ORIGINS", value)

    assert Settings().cors_origins == origins
    assert (
        Settings(
            environment="production", mongodb_uri="mongodb://svc:pw@db:27017/?tls=true"
        ).cors_origins
        == origins
    )


def test_unset_cors_origins_keep_the_environment_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMOTION_CORS_ORIGINS", raising=False)

    assert Settings().cors_origins
    assert (
        Settings(
            environment="production", mongodb_uri="mongodb://svc:pw@db:27017/?tls=true"
        ).cors_origins
        == []
    )


async def test_browsers_may_read_the_request_id_and_retry_after() -> None:
    app = create_app(Settings(cors_origins="https://app.bank"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/healthz", headers={"Origin": "https://app.bank"})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.bank"
    exposed = {
        name.strip().lower()
        for name in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"x-request-id", "retry-after"} <= exposed
