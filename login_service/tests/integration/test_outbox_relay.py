"""The outbox relay against the real RabbitMQ: contract, properties, broker outages."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
import httpx
import jsonschema
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from pydantic import SecretStr
from pymongo import AsyncMongoClient
from yarl import URL

from login_service.config import Settings
from tests.support import (
    TEST_PASSWORD,
    TcpProxy,
    account_payload,
    free_port,
    repo_root,
    running_app,
    wait_ready,
)

pytestmark = pytest.mark.integration

UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1/"


def _contract() -> tuple[dict[str, Any], dict[str, Any]]:
    events = repo_root() / "docs" / "events"
    schema = json.loads(Path(events / "first-login.v1.schema.json").read_text())
    topology = json.loads(Path(events / "topology.json").read_text())
    return schema, topology


@pytest.fixture
async def bound_queue(
    rabbitmq_url: str, make_settings: Any
) -> AsyncIterator[tuple[AbstractQueue, Settings]]:
    """A temporary queue bound to this test's exchange with the contract's routing key."""
    settings: Settings = make_settings()
    try:
        connection = await aio_pika.connect(rabbitmq_url, timeout=10)
    except Exception as exc:
        pytest.fail(f"RabbitMQ at {rabbitmq_url.split('@')[-1]} is unreachable: {exc!r}")
    channel = await connection.channel()
    exchange = await channel.declare_exchange(
        settings.events_exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(exchange, settings.first_login_routing_key)
    yield queue, settings
    await queue.delete(if_unused=False, if_empty=False)
    await exchange.delete()
    await connection.close()


async def _next_message(queue: AbstractQueue, within: float) -> AbstractIncomingMessage:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.1)
    raise AssertionError(f"no message arrived within {within} s")


async def _register_and_login(client: httpx.AsyncClient, request_id: str) -> httpx.Response:
    assert (await client.post("/v1/accounts", json=account_payload(1))).status_code == 201
    return await client.post(
        "/v1/auth/login",
        json={"identifier": "user1", "password": TEST_PASSWORD},
        headers={"X-Request-ID": request_id},
    )


def test_settings_defaults_match_the_event_topology_contract() -> None:
    _, topology = _contract()
    settings = Settings()
    assert settings.events_exchange == topology["exchange"]["name"]
    assert settings.first_login_routing_key == topology["routing_key"]
    assert topology["exchange"]["type"] == "topic"


async def test_relay_publishes_the_first_login_event_matching_the_contract(
    bound_queue: tuple[AbstractQueue, Settings],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
) -> None:
    queue, settings = bound_queue
    schema, topology = _contract()
    relay_settings = settings.model_copy(update={"outbox_relay_enabled": True})

    async with running_app(relay_settings) as (_, client):
        login = await _register_and_login(client, "req-contract-1")
        assert login.status_code == 200
        message = await _next_message(queue, within=20)

    body = json.loads(message.body)
    jsonschema.validate(body, schema, format_checker=jsonschema.FormatChecker())
    expected = topology["message"]
    assert message.message_id == body["event_id"]
    assert message.content_type == expected["content_type"]
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert int(message.delivery_mode) == expected["delivery_mode"]
    assert message.type == expected["type"]
    assert message.headers["x-event-version"] == expected["headers"]["x-event-version"]
    assert message.correlation_id == "req-contract-1" == body["correlation_id"]
    assert body["first_login_order"] == 1
    account = await mongo[database_name]["accounts"].find_one({"_id": body["account_id"]})
    assert account is not None
    assert body["first_login_at"].startswith(
        account["first_login_at"].strftime("%Y-%m-%dT%H:%M:%S")
    )
    event = await mongo[database_name]["outbox"].find_one({"_id": body["event_id"]})
    assert event is not None
    assert event["status"] == "sent"


async def test_login_succeeds_fast_with_the_broker_down_and_the_event_goes_out_once_it_is_back(
    bound_queue: tuple[AbstractQueue, Settings],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
) -> None:
    queue, settings = bound_queue
    broken = settings.model_copy(
        update={
            "outbox_relay_enabled": True,
            "rabbitmq_url": SecretStr(UNREACHABLE_BROKER),
            "outbox_backoff_initial_seconds": 0.2,
            "outbox_backoff_max_seconds": 0.5,
        }
    )
    async with running_app(broken) as (_, client):
        started = time.monotonic()
        login = await _register_and_login(client, "req-outage-1")
        elapsed = time.monotonic() - started
        assert login.status_code == 200
        assert elapsed < 5, f"login waited {elapsed:.1f} s for the broker"
        await asyncio.sleep(1.0)
        pending = await mongo[database_name]["outbox"].find_one({})
        assert pending is not None
        assert pending["status"] == "pending"
        assert pending["attempts"] >= 1
        assert (await client.get("/readyz")).json()["checks"]["rabbitmq"].startswith("error")

    restored = settings.model_copy(update={"outbox_relay_enabled": True})
    async with running_app(restored):
        message = await _next_message(queue, within=20)

    assert json.loads(message.body)["event_id"] == pending["_id"]
    sent = await mongo[database_name]["outbox"].find_one({"_id": pending["_id"]})
    assert sent is not None
    assert sent["status"] == "sent"


async def test_an_unroutable_event_stays_in_the_outbox_for_a_later_retry(
    make_settings: Any, mongo: AsyncMongoClient[dict[str, Any]], database_name: str
) -> None:
    settings: Settings = make_settings(
        outbox_relay_enabled=True, outbox_backoff_initial_seconds=5.0
    )

    async with running_app(settings) as (_, client):
        login = await _register_and_login(client, "req-unroutable-1")
        assert login.status_code == 200
        deadline = time.monotonic() + 15
        event: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            event = await mongo[database_name]["outbox"].find_one({"attempts": {"$gte": 1}})
            if event is not None and "last_error" in event:
                break
            await asyncio.sleep(0.2)

    assert event is not None
    assert event["status"] == "pending"
    assert event["last_error"]


async def test_events_recorded_while_an_open_broker_connection_is_cut_go_out_after_it_recovers(
    bound_queue: tuple[AbstractQueue, Settings],
    mongo: AsyncMongoClient[dict[str, Any]],
    database_name: str,
    rabbitmq_url: str,
) -> None:
    queue, settings = bound_queue
    broker = URL(rabbitmq_url)
    proxy = TcpProxy(broker.port or 5672)
    await proxy.start()
    proxied_url = str(broker.with_port(proxy.port).with_query(reconnect_interval="0.5"))
    proxied = settings.model_copy(
        update={
            "outbox_relay_enabled": True,
            "rabbitmq_url": SecretStr(proxied_url),
            "outbox_backoff_initial_seconds": 0.2,
            "outbox_backoff_max_seconds": 0.5,
            "outbox_publish_timeout_seconds": 2.0,
        }
    )
    credentials = {"password": TEST_PASSWORD}

    async with running_app(proxied) as (_, client):
        for index in (1, 2):
            body = account_payload(index)
            assert (await client.post("/v1/accounts", json=body)).status_code == 201
        first = await client.post("/v1/auth/login", json={"identifier": "user1", **credentials})
        assert first.status_code == 200
        assert json.loads((await _next_message(queue, within=20)).body)["first_login_order"] == 1

        await proxy.cut()
        started = time.monotonic()
        second = await client.post("/v1/auth/login", json={"identifier": "user2", **credentials})
        assert second.status_code == 200
        assert time.monotonic() - started < 5
        await asyncio.sleep(1.0)
        assert await mongo[database_name]["outbox"].count_documents({"status": "pending"}) == 1
        await proxy.start()

        message = await _next_message(queue, within=30)

    assert json.loads(message.body)["first_login_order"] == 2
    await proxy.cut()


def _serve(
    settings: Settings, port: int, rabbitmq_url: str, key_dir: Path
) -> subprocess.Popen[bytes]:
    """`python -m login_service`, one worker with its relay, in a process group of its own."""
    env = {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri.get_secret_value(),
        "RABBITMQ_URL": rabbitmq_url,
        "LOGIN_PORT": str(port),
        "LOGIN_WORKERS": "1",
        "LOGIN_MONGODB_DATABASE": settings.mongodb_database,
        "LOGIN_EVENTS_EXCHANGE": settings.events_exchange,
        "LOGIN_DEV_KEY_DIR": str(key_dir),
        "LOGIN_OUTBOX_RELAY_ENABLED": "true",
        "LOGIN_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "login_service"], env=env, start_new_session=True
    )


async def test_a_login_process_killed_right_after_answering_loses_no_event(
    bound_queue: tuple[AbstractQueue, Settings], rabbitmq_url: str, tmp_path: Path
) -> None:
    """SPEC 5.3: the first login answered 200, then its process died before publishing
    (its broker unreachable, then SIGKILL). Another process publishes the event."""
    queue, settings = bound_queue
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    doomed = _serve(settings, port, UNREACHABLE_BROKER, tmp_path / "keys")
    try:
        wait_ready(base, doomed)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            login = await _register_and_login(client, "req-killed-1")
        assert login.status_code == 200
    finally:
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
    assert await queue.get(no_ack=True, fail=False) is None, "nothing was published yet"

    survivor = _serve(settings, port, rabbitmq_url, tmp_path / "keys")
    try:
        wait_ready(base, survivor)
        message = await _next_message(queue, within=30)
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=20)

    body = json.loads(message.body)
    assert body["first_login_order"] == 1
    assert message.correlation_id == "req-killed-1"
    assert await queue.get(no_ack=True, fail=False) is None, "published once"
