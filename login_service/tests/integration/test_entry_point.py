"""``python -m login_service`` with two Uvicorn workers on one database."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pymongo import AsyncMongoClient

from tests.support import TEST_PASSWORD, insert_accounts

pytestmark = pytest.mark.integration

LOGINS = 12


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(
    mongodb_uri: str, rabbitmq_url: str, database_name: str, tmp_path: Path, events_exchange: str
) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "MONGODB_URI": mongodb_uri,
        "RABBITMQ_URL": rabbitmq_url,
        "LOGIN_PORT": str(port),
        "LOGIN_WORKERS": "2",
        "LOGIN_MONGODB_DATABASE": database_name,
        "LOGIN_DEV_KEY_DIR": str(tmp_path / "keys"),
        "LOGIN_EVENTS_EXCHANGE": events_exchange,
        "LOGIN_OUTBOX_RELAY_ENABLED": "false",
        "LOGIN_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "login_service"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the server exited during start-up"
            time.sleep(0.3)
        else:
            pytest.fail("the server did not become ready within 60 s")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_two_workers_share_one_dev_key_and_one_first_login_order(
    served: str, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    usernames = await insert_accounts(mongo, database_name, LOGINS)

    async with httpx.AsyncClient(base_url=served, timeout=60) as client:
        # One connection per login, so both workers accept some. One at a time: the
        # concurrency of first logins is proven against the recorder in test_first_login.
        responses = [
            await client.post(
                "/v1/auth/login",
                json={"identifier": name, "password": TEST_PASSWORD},
                headers={"Connection": "close"},
            )
            for name in usernames
        ]
        jwks = (await client.get("/.well-known/jwks.json")).json()

    assert [r.status_code for r in responses] == [200] * LOGINS
    (jwk,) = jwks["keys"]
    key = jwt.PyJWK(jwk).key
    for response in responses:
        jwt.decode(
            response.json()["access_token"],
            key,
            algorithms=[jwk["alg"]],
            audience="urn:bank:api",
            issuer="urn:bank:login",
        )
    accounts = await mongo[database_name]["accounts"].find({}).to_list()
    orders = sorted(account["first_login_order"] for account in accounts)
    assert orders == list(range(1, LOGINS + 1))
