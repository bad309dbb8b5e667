"""The lean login and registration: the service's work, with the login service's own key.

Runs a stand-in, the login service (for its key and JWKS) and the lean app."""

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import jwt
import pytest

from benchmarks.broker import delete_run_objects
from benchmarks.lean_app import AUDIENCE, ISSUER
from benchmarks.plan import PASSWORD
from benchmarks.processes import ProcessGroups
from benchmarks.stack import Stack

REPO = Path(__file__).resolve().parents[2]


async def _exchange_exists(url: str, name: str) -> bool:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        try:
            await (await connection.channel()).declare_exchange(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return False
    return True


@dataclass
class Seen:
    jwks: dict[str, Any]
    registered: httpx.Response
    wrong: httpx.Response
    login: httpx.Response
    exchange_left: bool


async def _scenario(work: Path) -> Seen:
    groups = ProcessGroups(log_dir=work)
    stack = Stack(repo=REPO, work=work, groups=groups, http_workers=1)
    try:
        await stack.start_standin()
        await stack.start_login()
        await stack.start_lean()
        async with httpx.AsyncClient(timeout=60) as client:
            jwks = (await client.get(f"{stack.login_url}/.well-known/jwks.json")).json()
            lean = stack.lean_url
            body = {"username": "Lean1", "email": "lean1@example.com", "phone": "+447900000001"}
            registered = await client.post(f"{lean}/register", json={**body, "password": PASSWORD})
            wrong = await client.post(
                f"{lean}/login", json={"identifier": "lean1", "password": "x"}
            )
            login = await client.post(
                f"{lean}/login", json={"identifier": "lean1", "password": PASSWORD}
            )
    finally:
        await groups.stop_all()
        groups.kill_all_now()
        # The login service declared its events exchange on the machine's broker.
        await delete_run_objects(stack.rabbitmq_url, stack.names)
        left = await _exchange_exists(stack.rabbitmq_url, stack.names.exchange)
    return Seen(jwks, registered, wrong, login, left)


@pytest.fixture(scope="module")
def seen() -> Seen:
    with tempfile.TemporaryDirectory(prefix="bench-lean-") as work:
        return asyncio.run(_scenario(Path(work)))


def test_the_lean_password_routes_do_the_work_with_the_services_key(seen: Seen) -> None:
    registered, wrong, login, jwks = seen.registered, seen.wrong, seen.login, seen.jwks
    assert not seen.exchange_left, "the run's exchange was left on the broker"
    assert registered.status_code == 201, registered.text
    assert registered.json()["username"] == "Lean1"
    assert registered.headers["x-device-token"]
    assert "device=" in registered.headers["set-cookie"]
    assert wrong.status_code == 401
    assert login.status_code == 200, login.text
    # Signed as the service signs: its key (the published one verifies it), its algorithm.
    (key,) = jwks["keys"]
    token = login.json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"]) == (key["alg"], key["kid"])
    claims = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=[key["alg"]], audience=AUDIENCE, issuer=ISSUER
    )
    assert claims["sub"] == registered.json()["id"]


def test_the_lean_routes_read_a_presented_device_token_as_the_service_does(seen: Seen) -> None:
    def claims(response: httpx.Response) -> dict[str, object]:
        token = response.headers["x-device-token"]
        decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
        return decoded

    # The login presented the registration's cookie: the same device, the account named once.
    registered, login = claims(seen.registered), claims(seen.login)
    assert login["jti"] == registered["jti"]
    assert login["acc"] == registered["acc"] == [seen.registered.json()["id"]]
