"""Helpers shared by the tests (apps under lifespan, request bodies, a TCP proxy)."""

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from login_service.config import Settings
from login_service.guard.passwords import PasswordHasher
from login_service.main import create_app

TEST_PASSWORD = "correct horse battery staple"


def repo_root() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / "tools" / "mongo-standin").is_dir():
            return parent
    raise RuntimeError("no folder above tests/ contains tools/mongo-standin")


@asynccontextmanager
async def running_app(
    settings: Settings, client_address: str = "203.0.113.7"
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app, client=(client_address, 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://login.test", timeout=60
        ) as client:
            # The app serves at once and answers 503 `starting` until its start is done.
            for _ in range(1200):
                if getattr(app.state, "services", None) is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the app did not finish starting within 60 s")
            yield app, client


def account_payload(index: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid registration body; distinct ``index`` values give distinct accounts."""
    body: dict[str, Any] = {
        "username": f"user{index}",
        "email": f"user{index}@example.com",
        "phone": f"+44207{index:07d}",
        "password": TEST_PASSWORD,
        "full_name": "Test User",
        "birthday": "1990-01-31",
    }
    body.update(overrides)
    return body


async def insert_accounts(
    mongo: AsyncMongoClient[dict[str, Any]], database: str, count: int
) -> list[str]:
    """Accounts written directly, sharing one hash, so the test spends no time on Argon2."""
    password_hash = await PasswordHasher(memory_cost_kib=19456, time_cost=2, parallelism=1).hash(
        TEST_PASSWORD
    )
    now = datetime.now(UTC)
    documents: list[dict[str, Any]] = [
        {
            "_id": str(uuid.uuid4()),
            "username": f"bulk{i}",
            "username_key": f"bulk{i}",
            "email": f"bulk{i}@example.com",
            "email_key": f"bulk{i}@example.com",
            "phone": f"+44207{i:07d}",
            "password_hash": password_hash,
            "created_at": now,
        }
        for i in range(count)
    ]
    await mongo[database]["accounts"].insert_many(documents)
    return [str(doc["username"]) for doc in documents]


class TcpProxy:
    """A local TCP forwarder to a server (broker, database) that can drop every connection."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(base: str, process: subprocess.Popen[bytes], within: float = 60) -> None:
    """Poll ``base``/readyz until it answers 200; fail if the server exits or is late."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited during start-up"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"the server did not become ready within {within:.0f} s")


def process_env(
    mongodb_uri: str,
    rabbitmq_url: str,
    database_name: str,
    tmp_path: Path,
    port: int,
    **settings: str,
) -> dict[str, str]:
    """The environment of a `python -m login_service` a test starts: the test's servers and
    database, two workers, no outbox relay, its keys and metrics in `tmp_path`; `settings`
    (LOGIN_... names) on top."""
    return {
        **os.environ,
        "MONGODB_URI": mongodb_uri,
        "RABBITMQ_URL": rabbitmq_url,
        "LOGIN_PORT": str(port),
        "LOGIN_WORKERS": "2",
        "LOGIN_MONGODB_DATABASE": database_name,
        "LOGIN_DEV_KEY_DIR": str(tmp_path / "keys"),
        "LOGIN_OUTBOX_RELAY_ENABLED": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        **settings,
    }
