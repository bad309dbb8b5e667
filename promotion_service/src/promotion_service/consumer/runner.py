"""The consumer's life: prepare the database, consume, and stop cleanly on request."""

import asyncio
import os
import socket
from functools import partial
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from promotion_service.config import Settings
from promotion_service.consumer.claim import ClaimPolicy, claim_first_login_voucher
from promotion_service.consumer.handler import ClaimFunction, MessageHandler
from promotion_service.consumer.metrics import ConsumerMetrics
from promotion_service.consumer.topology import declare_topology
from promotion_service.db import create_client, prepare_database

log = structlog.get_logger("promotion_service.consumer")


def connection_name(settings: Settings) -> str:
    """How this process shows in `rabbitmqctl list_connections client_properties`."""
    return settings.consumer_name or f"promotion-consumer@{socket.gethostname()}:{os.getpid()}"


class FirstLoginConsumer:
    """Consumes first-login events with bounded concurrency (the prefetch count)."""

    def __init__(
        self,
        settings: Settings,
        *,
        metrics: ConsumerMetrics | None = None,
        claim: ClaimFunction | None = None,
    ) -> None:
        self._settings = settings
        self._metrics = metrics or ConsumerMetrics()
        self._claim_override = claim
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        self.consuming = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; then cancel the consumer, finish in-flight work, close."""
        settings = self._settings
        mongo = create_client(settings, app_name="promotion-consumer")
        try:
            db = mongo[settings.mongodb_database]
            if not await self._until_database_ready(db, stop):
                return
            policy = ClaimPolicy(
                campaign_id=settings.campaign_id,
                voucher_valid_days=settings.voucher_valid_days,
                max_transaction_attempts=settings.claim_max_transaction_attempts,
            )
            claim = self._claim_override or partial(
                claim_first_login_voucher, mongo, db, policy=policy
            )
            await self._consume_until(stop, claim)
        finally:
            await mongo.close()
        log.info("consumer_stopped")

    async def _until_database_ready(self, db: Any, stop: asyncio.Event) -> bool:
        delay = 0.5
        while not stop.is_set():
            try:
                await prepare_database(db, self._settings)
                return True
            except Exception as exc:
                log.warning("database_not_ready", error=f"{type(exc).__name__}", retry_in_s=delay)
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
            except TimeoutError:
                delay = min(delay * 2, 15.0)
        return False

    async def _consume_until(self, stop: asyncio.Event, claim: ClaimFunction) -> None:
        settings = self._settings
        name = connection_name(settings)
        connection: AbstractRobustConnection = await aio_pika.connect_robust(
            settings.rabbitmq_url, client_properties={"connection_name": name}
        )
        connection.close_callbacks.add(_on_connection_lost)
        connection.reconnect_callbacks.add(_on_reconnected)
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=settings.consumer_prefetch)
            queue = await declare_topology(channel, settings)
            handler = MessageHandler(
                settings=settings,
                claim=claim,
                channel=channel,
                metrics=self._metrics,
                stopping=self._stopping,
            )
            consumer_tag = await queue.consume(partial(self._track, handler))
            log.info(
                "consumer_started",
                queue=settings.queue_name,
                queue_type=settings.queue_type,
                prefetch=settings.consumer_prefetch,
                connection_name=name,
            )
            self.consuming.set()
            await stop.wait()
            log.info("consumer_stopping", in_flight=len(self._in_flight))
            self._stopping.set()
            await queue.cancel(consumer_tag)
            await self._drain()
        finally:
            connection.close_callbacks.discard(_on_connection_lost)
            await connection.close()

    async def _track(self, handler: MessageHandler, message: AbstractIncomingMessage) -> None:
        if self._stopping.is_set():  # delivered while cancelling: hand it straight back
            await handler.settle_requeue(message)
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
