"""MongoDB going away under a running app: 503 with Retry-After, never a 500."""

from typing import Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from tests.support import TEST_PASSWORD, TcpProxy, account_payload, running_app

pytestmark = pytest.mark.integration


async def test_requests_during_a_database_outage_get_503_with_retry_after(
    make_settings: Any, mongodb_uri: str, mongo: Any
) -> None:
    database = urlsplit(mongodb_uri)
    proxy = TcpProxy(database.port or 27017)
    await proxy.start()
    proxied = f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"
    settings = make_settings(mongodb_uri=SecretStr(proxied), mongodb_timeout_ms=500)
    async with running_app(settings) as (_, client):
        assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
        login = {"identifier": "user1", "password": TEST_PASSWORD}
        token = (await client.post("/v1/auth/login", json=login)).json()["access_token"]

        await proxy.cut()
        responses = {
            "register": await client.post("/v1/accounts", json=account_payload(2)),
            "login": await client.post("/v1/auth/login", json=login),
            "me": await client.get("/v1/accounts/me", headers={"Authorization": f"Bearer {token}"}),
        }

    for name, response in responses.items():
        assert response.status_code == 503, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "5"
        problem = response.json()
        assert problem["type"] == "urn:bank:login:problem:service-unavailable"
        assert problem["request_id"] == response.headers["x-request-id"]
    assert await mongo[settings.mongodb_database]["accounts"].count_documents({}) == 1
