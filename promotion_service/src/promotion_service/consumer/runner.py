"""The consumer's life: prepare the database, consume, and stop cleanly on request."""

import asyncio
import os
import socket
from datetime import timedelta
from functools import partial
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from promotion_service.config import Settings
from promotion_service.consumer.attempts import DeliveryAttempts
from promotion_service.consumer.delivery import Deliveries
from promotion_service.consumer.handler import MessageHandler
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.topology import consuming_channel
from promotion_service.db import Database, create_client, prepare_database
from promotion_service.startup import until_ready
from promotion_service.vouchers.grant import VoucherGrant, build_grant

log = structlog.get_logger("promotion_service.consumer")


def connection_name(settings: Settings) -> str:
    """How this process shows in `rabbitmqctl list_connections client_properties`."""
    return settings.consumer_name or f"promotion-consumer@{socket.gethostname()}:{os.getpid()}"


class FirstLoginConsumer:
    """Consumes first-login events with bounded concurrency (the prefetch count)."""

    def __init__(self, settings: Settings, *, metrics: ConsumerMetrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics or ConsumerMetrics(
            heartbeat_seconds=settings.consumer_heartbeat_seconds
        )
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.consuming = asyncio.Event()
        self._handler: MessageHandler | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then cancel the consumer, finish in-flight work, close."""
        settings = self._settings
        mongo = create_client(
            settings, app_name="promotion-consumer", listeners=[self._metrics.mongo_commands]
        )
        try:
            db = mongo[settings.mongodb_database]
            await until_ready("mongodb", partial(prepare_database, db, settings), stop)
            if stop.is_set():
                return
            await self._consume_until(stop, build_grant(mongo, db, settings), db)
        finally:
            await mongo.close()
        log.info("consumer_stopped")

    async def _consume_until(self, stop: asyncio.Event, grant: VoucherGrant, db: Database) -> None:
        connection = await self._connect(stop)
        if connection is None:
            return
        try:
            # The events exchange is the login service's: until it has declared it, the
            # promotion user (no configure right on it) is refused, and the start waits.
            opened = await until_ready(
                "rabbitmq_topology",
                partial(consuming_channel, connection, self._settings),
                stop,
                explain=True,
            )
            if opened is None:
                return
            channel, queue = opened
            self._handler = self._message_handler(grant, db, channel)
            # A bound method, not a partial: aio-pika inspects the callback on every message.
            consumer_tag = await queue.consume(self._track)
            self._announce_start(connection_name(self._settings))
            heartbeat = asyncio.create_task(self._beat(connection))
            await stop.wait()
            heartbeat.cancel()
            await self._stop_consuming(queue, consumer_tag)
        finally:
            connection.close_callbacks.discard(_on_connection_lost)
            await connection.close()

    async def _connect(self, stop: asyncio.Event) -> AbstractRobustConnection | None:
        """The broker connection, watched for losses; None if stopped before it opened."""
        # connect_robust reconnects a connection it once had; the first one is retried here.
        connection: AbstractRobustConnection | None = await until_ready(
            "rabbitmq",
            partial(
                aio_pika.connect_robust,
                self._settings.rabbitmq_url,
                client_properties={"connection_name": connection_name(self._settings)},
            ),
            stop,
        )
        if connection is not None:
            connection.close_callbacks.add(_on_connection_lost)
            connection.reconnect_callbacks.add(_on_reconnected)
        return connection

    def _message_handler(
        self, grant: VoucherGrant, db: Database, channel: AbstractChannel
    ) -> MessageHandler:
        settings = self._settings
        deliveries = Deliveries(
            settings=settings,
            attempts=DeliveryAttempts(
                db, ttl=timedelta(seconds=settings.delivery_attempts_ttl_seconds)
            ),
            metrics=self._metrics,
            stopping=self._stopping,
            # A quorum queue counts every requeue against its delivery limit: messages
            # waiting for the database go back as fresh copies (publisher confirms).
            requeue_exchange=channel.default_exchange if settings.queue_type == "quorum" else None,
        )
        return MessageHandler(
            beyond_campaign=grant.beyond_campaign,
            claim=grant.claim,
            deliveries=deliveries,
            metrics=self._metrics,
            max_attempts=settings.max_attempts,
            trusted_senders=settings.trusted_senders,
        )

    def _announce_start(self, name: str) -> None:
        settings = self._settings
        log.info(
            "consumer_started",
            queue=settings.queue_name,
            queue_type=settings.queue_type,
            prefetch=settings.consumer_prefetch,
            connection_name=name,
            trusted_senders=sorted(settings.trusted_senders),
        )
        self.consuming.set()

    async def _stop_consuming(self, queue: AbstractQueue, consumer_tag: str) -> None:
        """Cancel the consumer, then let the deliveries in hand finish (or abandon them)."""
        log.info("consumer_stopping", in_flight=len(self._in_flight))
        self._stopping.set()
        try:  # a broker that is away right now must not keep the process from stopping
            await asyncio.wait_for(queue.cancel(consumer_tag), timeout=5)
        except Exception as exc:
            log.warning("consumer_cancel_failed", error=type(exc).__name__)
        await self._drain()

    async def _beat(self, connection: AbstractRobustConnection) -> None:
        """Beat while the loop runs and the broker connection is open: the heartbeat file (if
        configured) for a healthcheck, and ``promotion_consumer_consuming`` for Prometheus,
        so that both see a stuck loop or a lost broker (the metrics thread answers either
        way)."""
        path = self._settings.consumer_heartbeat_file
        while True:
            # `connected`, not `is_closed`: a robust connection the broker dropped is not
            # closed (it keeps reconnecting), but it is not connected either.
            if connection.connected.is_set():
                self._metrics.heartbeat.beat()
                if path is not None:
                    path.touch()
            await asyncio.sleep(self._settings.consumer_heartbeat_seconds)

    async def _track(self, message: AbstractIncomingMessage) -> None:
        handler = self._handler
        assert handler is not None  # set before consuming starts
        if self._stopping.is_set():  # delivered while cancelling: hand it straight back
            await handler.requeue_now(message)
            return
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        self._idle.clear()
        try:
            await handler(message)
        finally:
            self._in_flight.discard(task)
            if not self._in_flight:
                self._idle.set()

    async def _drain(self) -> None:
        try:
            await asyncio.wait_for(
                self._idle.wait(), timeout=self._settings.shutdown_timeout_seconds
            )
        except TimeoutError:
            # Unacknowledged messages return to the queue when the channel closes.
            log.warning("shutdown_timeout", abandoned=len(self._in_flight))
            for task in list(self._in_flight):
                task.cancel()


def _on_connection_lost(_connection: object, exc: BaseException | None) -> None:
    log.warning("broker_connection_lost", error=type(exc).__name__ if exc else None)


def _on_reconnected(_connection: object) -> None:
    log.info("broker_reconnected")
