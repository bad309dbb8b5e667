"""Shared fixtures: the real MongoDB wire server and RabbitMQ, per-test databases and apps.

MongoDB: ``MONGODB_URI`` when set, otherwise the repository's stand-in launcher,
started once per session. RabbitMQ: ``RABBITMQ_URL`` or the local default. A missing
server fails the tests with a clear message; nothing is mocked.
"""

import contextlib
import os
import queue
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import pytest
from pymongo import AsyncMongoClient

from login_service.config import Settings
from tests.support import repo_root, running_app

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
STANDIN_START_TIMEOUT_SECONDS = 60


def start_standin(data_file: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    """The stand-in on a free port (or `extra`'s), its URI; the caller stops it."""
    project = repo_root() / "tools" / "mongo-standin"
    uv = os.environ.get("UV", "uv")  # `uv run` names its own binary here
    command = [uv, "run", "--project", str(project), "python", "-m", "mongo_standin"]
    process = subprocess.Popen(
        # Waits for another session's transaction as long as a test may: 150 first logins
        # at once queue behind each other's transactions, serialised on the stand-in, and
        # beside other suites on two cores that queue can exceed the default 30 s.
        [*command, "--port", "0", "--path", str(data_file), "--wait-limit", "180", *extra],
        stdout=subprocess.PIPE,
        text=True,
        cwd=project,  # its .python-version selects the interpreter (and uv's pyenv shim)
        env={
            **{k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
            "UV_PYTHON_DOWNLOADS": "never",
        },
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=STANDIN_START_TIMEOUT_SECONDS).strip()
    except queue.Empty:
        line = ""
    if not line.startswith("MONGODB_URI="):
        process.kill()
        pytest.fail(
            f"The MongoDB wire stand-in did not start within {STANDIN_START_TIMEOUT_SECONDS} s "
            f"(printed {line!r}). Set MONGODB_URI to a MongoDB replica set, or check "
            f"`uv run --project {project} python -m mongo_standin --port 0`."
        )
    return process, line.removeprefix("MONGODB_URI=")


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("MONGODB_URI")
    if configured:
        yield configured
        return
    process, uri = start_standin(tmp_path_factory.mktemp("standin") / "login-tests.sqlite3")
    try:
        yield uri
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    return os.environ.get("RABBITMQ_URL", DEFAULT_RABBITMQ_URL)


@pytest.fixture(scope="session")
def dev_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development key per algorithm for the whole session (RSA keys are slow to make)."""
    return tmp_path_factory.mktemp("dev-keys")


@pytest.fixture
def database_name() -> str:
    return f"login_test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def mongo(
    mongodb_uri: str, database_name: str
) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    try:
        await client.admin.command("ping")
    except Exception as exc:
        await client.close()
        pytest.fail(f"MongoDB at MONGODB_URI is unreachable: {type(exc).__name__}")
    yield client
    await client.drop_database(database_name)
    await client.close()


async def delete_exchanges(rabbitmq_url: str, names: list[str]) -> None:
    """Remove this test's exchanges from the shared broker (deleting is idempotent)."""
    connection = await aio_pika.connect(rabbitmq_url, timeout=10)
    async with connection:
        for name in names:
            channel = await connection.channel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError):
                await channel.exchange_delete(name)


@pytest.fixture
async def events_exchange(rabbitmq_url: str) -> AsyncIterator[str]:
    """A per-test exchange name, deleted afterwards (readiness checks declare it)."""
    name = f"test.accounts.events.{uuid.uuid4().hex[:8]}"
    yield name
    await delete_exchanges(rabbitmq_url, [name])


@pytest.fixture
def make_settings(
    mongodb_uri: str,
    rabbitmq_url: str,
    database_name: str,
    dev_key_dir: Path,
    events_exchange: str,
) -> Callable[..., Settings]:
    """Settings for one test: its own database and exchange, the relay off unless asked."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "mongodb_uri": mongodb_uri,
            "mongodb_database": database_name,
            "rabbitmq_url": rabbitmq_url,
            "events_exchange": events_exchange,
            "dev_key_dir": dev_key_dir,
            "outbox_relay_enabled": False,
            "log_format": "json",
            # Tests register many accounts from one address; the registration budget
            # has its own test.
            "throttle_registration_max_attempts": 100_000,
        }
        values.update(overrides)
        return Settings(**values)

    return build


@pytest.fixture
async def client(
    make_settings: Callable[..., Settings], mongo: AsyncMongoClient[dict[str, Any]]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of one app with default test settings."""
    async with running_app(make_settings()) as (_, http):
        yield http
