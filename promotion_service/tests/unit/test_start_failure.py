"""A start that fails past its retries is logged and makes the instance report itself failed
(`/livez` and `/readyz` 503), so an orchestrator restarts it."""

import asyncio
from types import SimpleNamespace

import httpx
import pytest

from promotion_service.config import Settings
from promotion_service.main import create_app
from promotion_service.startup import watch_start


async def test_a_failed_start_is_recorded_and_logged(capsys: pytest.CaptureFixture[str]) -> None:
    app = SimpleNamespace(state=SimpleNamespace())

    async def start() -> None:
        raise RuntimeError("a bug after the database was ready")

    task = asyncio.create_task(start())
    watch_start(app, task)
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert app.state.start_failed == "RuntimeError"
    logged = capsys.readouterr()
    assert "start_failed" in logged.out + logged.err


async def test_a_failed_instance_answers_503_on_livez_and_readyz() -> None:
    app = create_app(Settings())
    app.state.start_failed = "RuntimeError"
    transport = httpx.ASGITransport(app=app)  # no lifespan: the state alone decides
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        live, ready = await client.get("/livez"), await client.get("/readyz")
    assert (live.status_code, live.json()["status"]) == (503, "failed")
    assert (ready.status_code, ready.json()["status"]) == (503, "failed")
