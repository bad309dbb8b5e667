"""The API's life as an orchestrator sees it: `/livez` at once, `/readyz` `starting` while the
database is prepared, then ready; on SIGTERM unready (`stopping`) first, then it stops."""

import asyncio
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from login_service.main import create_app
from tests.conftest import start_standin
from tests.support import account_payload, free_port, process_env, wait_ready

pytestmark = pytest.mark.integration


async def test_until_its_database_answers_the_api_is_live_starting_and_refuses_with_503(
    make_settings: Any, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens here until the stand-in is started on it
    settings = make_settings(mongodb_uri=f"mongodb://127.0.0.1:{port}/", mongodb_timeout_ms=300)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    standin: subprocess.Popen[str] | None = None
    try:
        async with (
            LifespanManager(app, startup_timeout=60),
            httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        ):
            live = await client.get("/livez")
            ready = await client.get("/readyz")
            register = await client.post("/v1/accounts", json=account_payload(1))
            assert live.status_code == 200
            assert (ready.status_code, ready.json()["status"]) == (503, "starting")
            assert register.status_code == 503
            assert register.json()["type"].endswith(":starting")
            assert register.headers["retry-after"] == "5"
            assert (await client.get("/metrics")).status_code == 200

            standin, _ = start_standin(tmp_path / "db.sqlite3", "--port", str(port))
            for _ in range(300):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            register = await client.post("/v1/accounts", json=account_payload(1))
            assert register.status_code == 201, register.text
    finally:
        if standin is not None:
            standin.terminate()
            standin.wait(timeout=10)


def test_sigterm_turns_the_api_unready_while_it_still_serves_then_it_exits(
    mongodb_uri: str, rabbitmq_url: str, database_name: str, tmp_path: Path
) -> None:
    port = free_port()
    env = process_env(
        mongodb_uri,
        rabbitmq_url,
        database_name,
        tmp_path,
        port,
        LOGIN_SHUTDOWN_DRAIN_SECONDS="3",
    )
    process = subprocess.Popen([sys.executable, "-m", "login_service"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process)
        _every_worker_ready(base)
        process.send_signal(signal.SIGTERM)
        for _ in range(40):  # the signal reaches the supervisor, which flags the workers
            ready = httpx.get(f"{base}/readyz", timeout=5)
            if ready.status_code == 503:
                break
        assert ready.json() == {"status": "stopping", "checks": {}}
        jwks = httpx.get(f"{base}/.well-known/jwks.json", timeout=5)
        assert jwks.status_code == 200, "a draining instance still serves"
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _every_worker_ready(base: str) -> None:
    """Twenty ready answers in a row on new connections: each worker has started (the kernel
    spreads new connections over them)."""
    streak = 0
    for _ in range(600):
        ready = httpx.get(f"{base}/readyz", headers={"Connection": "close"}, timeout=5)
        streak = streak + 1 if ready.status_code == 200 else 0
        if streak == 20:
            return
    raise AssertionError("the workers did not all become ready")
