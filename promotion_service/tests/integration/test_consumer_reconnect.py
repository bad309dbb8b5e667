"""A consumer survives its broker: away at start-up, closing the connection later, or
restarted (stop_app, then start_app) with messages in flight. The restart happens to a
throwaway node of the test's own, never to the machine's broker."""

import asyncio
import socket
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
from aio_pika.abc import AbstractConnection

from promotion_service.config import Settings
from promotion_service.consumer.handler import ClaimFunction
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.runner import FirstLoginConsumer
from promotion_service.db import PROCESSED_EVENTS, VOUCHERS, Database
from promotion_service.events.first_login import FirstLoginEvent
from promotion_service.vouchers.grant import GrantResult, build_grant
from tests.factories import eventually, first_login_event, publish
from tests.integration.broker_connections import connection_pids, rabbitmqctl
from tests.rabbitmq_node import RabbitNode


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


class GatedClaim:
    """The real claim; once `hold` is set, each call waits for `release` before claiming."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._claim = build_grant(db.client, db, settings).claim
        self.hold = False
        self.release = asyncio.Event()
        self.waiting = 0
        self.calls = 0

    async def __call__(self, event: FirstLoginEvent) -> GrantResult:
        self.calls += 1
        if self.hold and not self.release.is_set():
            self.waiting += 1
            await self.release.wait()
        return await self._claim(event)


async def test_a_broker_restart_is_survived_without_loss_or_double_grant(
    settings: Settings,
    db: Database,
    restartable_broker: RabbitNode,
    consumers_claim_with: Callable[[ClaimFunction], None],
) -> None:
    """The broker's application is stopped while events wait in the queue and the consumer
    holds some unacknowledged; after start_app the consumer reconnects by itself, what it
    held is delivered again, and every event ends with exactly one voucher.

    The test publishes over connections of its own: the broker closes every connection."""
    settings = settings.model_copy(update={"rabbitmq_url": restartable_broker.url})
    stop = asyncio.Event()
    claim = GatedClaim(db, settings)
    consumers_claim_with(claim)
    consumer = FirstLoginConsumer(settings, metrics=ConsumerMetrics())
    task = asyncio.create_task(consumer.run(stop))
    before = [first_login_event(order) for order in range(1, 13)]
    after = [first_login_event(order) for order in range(13, 15)]
    try:
        await asyncio.wait_for(consumer.consuming.wait(), timeout=30)
        await _publish(settings, before[:2])
        await eventually(lambda: _processed(db, 2), timeout=30, what="events before the restart")
        claim.hold = True
        await _publish(settings, before[2:])  # confirmed, so persisted in the durable queue
        await eventually(lambda: _holding(claim), timeout=30, what="events in the consumer's hands")
        try:
            await asyncio.to_thread(restartable_broker.ctl, "stop_app")
            claim.release.set()  # what was held goes on while the broker is away
        finally:
            await asyncio.to_thread(restartable_broker.ctl, "start_app")
            await asyncio.to_thread(restartable_broker.ctl, "await_startup")

        await _publish(settings, [*after, before[0], before[5]])  # two duplicates
        await eventually(lambda: _processed(db, 14), timeout=120, what="every event")
        await eventually(lambda: _waiting(settings, 0), timeout=30, what="the duplicates delivered")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    # Stopped after draining its in-flight work: anything unacknowledged would be back in
    # the queue now, so an empty queue means every delivery was acknowledged.
    assert await _waiting(settings, 0)
    assert sorted(await db[VOUCHERS].distinct("slot")) == list(range(1, 15))
    assert await db[VOUCHERS].count_documents({}) == 14
    # Each message held across the restart was delivered again: 16 deliveries were
    # published (12 events, 2 new, 2 copies), plus one more for each held one.
    assert claim.waiting > 0
    assert claim.calls == 16 + claim.waiting, (claim.calls, claim.waiting)
    assert sorted(await db[VOUCHERS].distinct("account_id")) == sorted(
        event["account_id"] for event in [*before, *after]
    )


async def _publish(settings: Settings, events: list[dict[str, object]]) -> None:
    async with await aio_pika.connect(settings.rabbitmq_url, timeout=10) as connection:
        channel = await connection.channel(publisher_confirms=True)
        for event in events:
            await publish(channel, settings, event)


async def _holding(claim: GatedClaim) -> bool:
    return claim.waiting > 0


async def _processed(db: Database, count: int) -> bool:
    return await db[PROCESSED_EVENTS].count_documents({}) == count


async def _waiting(settings: Settings, count: int) -> bool:
    """Whether the queue holds `count` messages ready for delivery."""
    async with await aio_pika.connect(settings.rabbitmq_url, timeout=10) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(settings.queue_name, passive=True)
        assert queue.declaration_result.message_count is not None
        return queue.declaration_result.message_count == count


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


async def test_the_heartbeat_stops_while_the_broker_is_away_and_resumes_after(
    settings: Settings, restartable_broker: RabbitNode, tmp_path: Path
) -> None:
    """The file a container healthcheck reads ages while the broker is down (the metrics
    thread answers either way), and is touched again once the consumer has reconnected."""
    beat = tmp_path / "consumer.heartbeat"
    settings = settings.model_copy(
        update={
            "rabbitmq_url": restartable_broker.url,
            "consumer_heartbeat_file": beat,
            "consumer_heartbeat_seconds": 0.05,
        }
    )
    stop = asyncio.Event()
    metrics = ConsumerMetrics(heartbeat_seconds=0.05)
    task = asyncio.create_task(FirstLoginConsumer(settings, metrics=metrics).run(stop))
    try:
        await eventually(lambda: _exists(beat), timeout=60, what="a first heartbeat")
        assert metrics.heartbeat.consuming
        await asyncio.to_thread(restartable_broker.ctl, "stop_app")
        try:
            await asyncio.sleep(2)  # the connection's loss is seen; the last beat is behind
            during = beat.stat().st_mtime_ns
            await asyncio.sleep(1)
            assert beat.stat().st_mtime_ns == during, "touched while the broker was away"
            # promotion_consumer_consuming says the same to Prometheus.
            assert not metrics.heartbeat.consuming
        finally:
            await asyncio.to_thread(restartable_broker.ctl, "start_app")
            await asyncio.to_thread(restartable_broker.ctl, "await_startup")
        await eventually(
            lambda: _touched_after(beat, during), timeout=60, what="the heartbeat again"
        )
        assert metrics.heartbeat.consuming
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


async def _exists(path: Path) -> bool:
    return path.exists()


async def _touched_after(path: Path, moment: int) -> bool:
    return path.stat().st_mtime_ns > moment
