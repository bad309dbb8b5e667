"""A consumer survives its broker: away at start-up, or closing the connection later."""

import asyncio
import shutil
import socket
import subprocess
import uuid
from functools import partial
from urllib.parse import urlsplit

import pytest
from aio_pika.abc import AbstractConnection

from promotion_service.config import Settings
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.db import PROCESSED_EVENTS, Database
from tests.factories import eventually, first_login_event, publish


def rabbitmqctl(*args: str) -> str:
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        pytest.fail("rabbitmqctl is needed to close a connection from the server side")
    done = subprocess.run(
        [executable, *args], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def connection_pids(name: str) -> list[str]:
    """Pids (as rabbitmqctl accepts them) of connections whose connection_name is `name`."""
    listed = rabbitmqctl("list_connections", "pid", "client_properties", "-q", "--no-table-headers")
    return [line.split("\t", 1)[0] for line in listed.splitlines() if f'"{name}"' in line]


async def test_a_connection_closed_by_the_server_is_reopened_and_consuming_resumes(
    settings: Settings, db: Database, amqp_connection: AbstractConnection
) -> None:
    name = f"promotion-consumer-reconnect-test-{uuid.uuid4().hex[:8]}"
    settings = settings.model_copy(update={"consumer_name": name})
    stop = asyncio.Event()
    consumer = FirstLoginConsumer(settings, metrics=ConsumerMetrics())
    task = asyncio.create_task(consumer.run(stop))
    channel = await amqp_connection.channel(publisher_confirms=True)
    try:
        await asyncio.wait_for(consumer.consuming.wait(), timeout=30)
        before = first_login_event(1)
        await publish(channel, settings, before)
        await eventually(lambda: _handled(db, before["event_id"]), timeout=30, what="first event")

        pids = await asyncio.to_thread(connection_pids, name)
        assert len(pids) == 1, pids
        await asyncio.to_thread(rabbitmqctl, "close_connection", pids[0], "reconnect test")
        after = first_login_event(2)
        await publish(channel, settings, after)

        await eventually(
            lambda: _handled(db, after["event_id"]), timeout=60, what="event after reconnect"
        )
        assert await asyncio.to_thread(connection_pids, name) not in ([], pids)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await channel.close()


async def _handled(db: Database, event_id: str) -> bool:
    return await db[PROCESSED_EVENTS].count_documents({"_id": event_id}) == 1


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            target.write(data)
            await target.drain()
    finally:
        target.close()


async def _forward(
    host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
    await asyncio.gather(
        _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_a_broker_unreachable_at_start_up_is_waited_for_then_consumed_from(
    settings: Settings, db: Database, amqp_connection: AbstractConnection
) -> None:
    broker = urlsplit(settings.rabbitmq_url)
    port = _free_port()  # nothing listens here until the test forwards it to the broker
    credentials = broker.netloc.rpartition("@")[0]
    away = broker._replace(netloc=f"{credentials}@127.0.0.1:{port}").geturl()
    consumer = FirstLoginConsumer(
        settings.model_copy(update={"rabbitmq_url": away}), metrics=ConsumerMetrics()
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    channel = await amqp_connection.channel(publisher_confirms=True)
    forwarder = None
    try:
        await asyncio.sleep(1.5)  # refused connection attempts
        assert not task.done()
        assert not consumer.consuming.is_set()
        forward = partial(_forward, broker.hostname or "127.0.0.1", broker.port or 5672)
        forwarder = await asyncio.start_server(forward, "127.0.0.1", port)

        await asyncio.wait_for(consumer.consuming.wait(), timeout=30)
        event = first_login_event(1)
        await publish(channel, settings, event)
        await eventually(lambda: _handled(db, event["event_id"]), timeout=30, what="event")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
        await channel.close()
        if forwarder is not None:
            forwarder.close()
            forwarder.close_clients()
            await asyncio.wait_for(forwarder.wait_closed(), timeout=10)
