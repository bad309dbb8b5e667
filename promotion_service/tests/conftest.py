"""Shared fixtures: a real MongoDB wire server (MONGODB_URI, else the stand-in launcher),
the real RabbitMQ (RABBITMQ_URL, else the local one), per-test database and queue names,
and a throwaway RabbitMQ node for the tests that restart a broker."""

import os
import select
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aio_pika
import pytest
from pymongo import AsyncMongoClient

from promotion_service.config import Settings
from tests.rabbitmq_node import RabbitNode, throwaway_node

pytest_plugins = ["tests.integration.api_fixtures"]

HERE = Path(__file__).resolve()
PROJECT_ROOT = HERE.parents[1]
LAUNCH_TIMEOUT_SECONDS = 60


def repo_root() -> Path:
    for parent in HERE.parents:
        if (parent / "tools" / "mongo-standin").is_dir():
            return parent
    pytest.fail("cannot find the repository root (a folder containing tools/mongo-standin)")


def _read_uri_line(process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"MongoDB stand-in exited with {process.returncode} before it was ready")
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline().strip()
            if line.startswith("MONGODB_URI="):
                return line.removeprefix("MONGODB_URI=")
    process.kill()
    pytest.fail(f"MongoDB stand-in printed no MONGODB_URI line within {LAUNCH_TIMEOUT_SECONDS} s")


@contextmanager
def launched_standin(data_file: Path, *extra_args: str) -> Iterator[str]:
    """Run the repository's MongoDB stand-in launcher; yield its URI; stop it afterwards."""
    root = repo_root()
    command = [
        "uv",
        "run",
        "--project",
        str(root / "tools" / "mongo-standin"),
        "python",
        "-m",
        "mongo_standin",
        "--port",
        "0",
        "--path",
        str(data_file),
        *extra_args,
    ]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    try:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
    except OSError as exc:
        pytest.fail(f"cannot start the MongoDB stand-in ({exc}); set MONGODB_URI instead")
    try:
        yield _read_uri_line(process, time.monotonic() + LAUNCH_TIMEOUT_SECONDS)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if uri := os.environ.get("MONGODB_URI"):
        yield uri
        return
    with launched_standin(tmp_path_factory.mktemp("mongo") / "standin.sqlite") as uri:
        yield uri


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    return os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
async def mongo_client(mongodb_uri: str) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    try:
        await client.admin.command("ping")
    except Exception as exc:
        pytest.fail(f"MongoDB at {mongodb_uri} does not answer: {exc}")
    yield client
    await client.close()


@pytest.fixture
async def database_name(mongo_client: AsyncMongoClient[dict[str, object]]) -> AsyncIterator[str]:
    name = f"promotion_test_{uuid.uuid4().hex[:12]}"
    yield name
    await mongo_client.drop_database(name)


class Broker:
    """The suite's connection to RabbitMQ, opened again if the broker closed it (a test
    closes connections from the server side), so that it does not break the tests after it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def connection(self) -> aio_pika.abc.AbstractConnection:
        if self._connection is None:
            try:
                connection = await aio_pika.connect(self.url, timeout=10)
            except Exception as exc:
                pytest.fail(f"RabbitMQ at {self.url} is not reachable: {exc}")
            connection.close_callbacks.add(self._forget)
            self._connection = connection
        return self._connection

    def _forget(self, connection: object, _exc: BaseException | None = None) -> None:
        if connection is self._connection:
            self._connection = None

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


@pytest.fixture(scope="session")
async def broker(rabbitmq_url: str) -> AsyncIterator[Broker]:
    session_broker = Broker(rabbitmq_url)
    await session_broker.connection()
    yield session_broker
    await session_broker.close()


@pytest.fixture
def restartable_broker() -> Iterator[RabbitNode]:
    """A RabbitMQ node of this test's own, running on free ports, for the test to stop and
    start at will: the machine's broker (and whatever else uses it) never notices. It is
    stopped and its folder removed afterwards."""
    with throwaway_node("promotion-test") as node:
        node.start()
        yield node


@pytest.fixture
async def amqp_connection(broker: Broker) -> aio_pika.abc.AbstractConnection:
    return await broker.connection()


@pytest.fixture
async def settings(
    mongodb_uri: str,
    rabbitmq_url: str,
    database_name: str,
    broker: Broker,
) -> AsyncIterator[Settings]:
    """Settings pointing at a fresh database and fresh, per-test exchanges and queues."""
    suffix = uuid.uuid4().hex[:10]
    test_settings = Settings(
        mongodb_uri=mongodb_uri,
        rabbitmq_url=rabbitmq_url,
        mongodb_database=database_name,
        events_exchange=f"test.accounts.events.{suffix}",
        queue_name=f"test.promotion.first_login.{suffix}",
        dead_letter_exchange=f"test.promotion.dead_letter.{suffix}",
        dead_letter_queue=f"test.promotion.first_login.dead.{suffix}",
        consumer_metrics_port=0,
        retry_base_delay_seconds=0.05,
        retry_max_delay_seconds=0.2,
        shutdown_timeout_seconds=20,
        jwks_min_refetch_interval_seconds=0,
    )
    yield test_settings
    channel = await (await broker.connection()).channel()
    for queue in (test_settings.queue_name, test_settings.dead_letter_queue):
        await channel.queue_delete(queue)
    for exchange in (test_settings.events_exchange, test_settings.dead_letter_exchange):
        await channel.exchange_delete(exchange)
    await channel.close()


def consumer_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a `python -m promotion_service.consumer` subprocess."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PROMOTION_")}
    env.update(
        {
            "MONGODB_URI": settings.mongodb_uri,
            "RABBITMQ_URL": settings.rabbitmq_url,
            "PROMOTION_MONGODB_DATABASE": settings.mongodb_database,
            "PROMOTION_EVENTS_EXCHANGE": settings.events_exchange,
            "PROMOTION_QUEUE_NAME": settings.queue_name,
            "PROMOTION_QUEUE_TYPE": settings.queue_type,
            "PROMOTION_DEAD_LETTER_EXCHANGE": settings.dead_letter_exchange,
            "PROMOTION_DEAD_LETTER_QUEUE": settings.dead_letter_queue,
            "PROMOTION_CONSUMER_METRICS_PORT": "0",
            "PROMOTION_RETRY_BASE_DELAY_SECONDS": "0.05",
            "PROMOTION_RETRY_MAX_DELAY_SECONDS": "0.2",
            "PROMOTION_LOG_FORMAT": "json",
        }
    )
    env.update(extra)
    return env
