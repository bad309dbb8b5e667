"""An API app per test, with its own database and the test JWKS server."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from promotion_service import create_app
from promotion_service.clock import utc_now_ms
from promotion_service.config import Settings
from promotion_service.db import VOUCHERS, Database
from tests.jwks_server import JwksServer, SigningKey, make_key


@dataclass
class Keys:
    rs256: SigningKey
    ps256: SigningKey
    es256: SigningKey
    eddsa: SigningKey
    unpublished: SigningKey

    @property
    def published(self) -> list[SigningKey]:
        return [self.rs256, self.ps256, self.es256, self.eddsa]


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rs256=make_key("RS256"),
        ps256=make_key("PS256"),
        es256=make_key("ES256"),
        eddsa=make_key("EdDSA"),
        unpublished=make_key("RS256"),
    )


@pytest.fixture
def jwks(keys: Keys) -> Iterator[JwksServer]:
    server = JwksServer(keys=[key.public_jwk for key in keys.published]).start()
    yield server
    server.stop()


@pytest.fixture
async def api_settings(settings: Settings, jwks: JwksServer) -> Settings:
    return settings.model_copy(update={"jwks_url": jwks.url, "max_body_bytes": 4096})


@asynccontextmanager
async def started(app: FastAPI, base_url: str = "http://t") -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` once its start (the database prepared, services built) is done: the
    app serves at once and answers 503 `starting` until then."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url=base_url
        ) as http,
    ):
        for _ in range(600):
            if getattr(app.state, "services", None) is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the app did not finish starting within 30 s")
        yield http


@pytest.fixture
async def client(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with started(create_app(api_settings), "http://promotion.test") as http:
        yield http


async def insert_voucher(
    db: Database,
    account_id: str,
    *,
    slot: int = 1,
    campaign_id: str = "first-login",
    discount_percent: int = 30,
    expires_in: timedelta = timedelta(days=30),
    **extra: Any,
) -> str:
    now = utc_now_ms()
    voucher_id = str(uuid.uuid4())
    await db[VOUCHERS].insert_one(
        {
            "_id": voucher_id,
            "campaign_id": campaign_id,
            "account_id": account_id,
            "slot": slot,
            "discount_percent": discount_percent,
            "status": "active",
            "granted_at": now,
            "expires_at": now + expires_in,
            **extra,
        }
    )
    return voucher_id


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id"}


def assert_problem(response: httpx.Response, status: int, name: str) -> dict[str, Any]:
    """A problem+json body of the service's problem shape; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert PROBLEM_MEMBERS <= problem.keys() <= PROBLEM_MEMBERS | {"errors"}, problem
    assert problem["type"] == f"urn:bank:promotion:problem:{name}"
    assert problem["status"] == status
    assert problem["title"]
    assert problem["instance"] == response.request.url.path
    assert problem["request_id"] == response.headers["x-request-id"]
    return problem
