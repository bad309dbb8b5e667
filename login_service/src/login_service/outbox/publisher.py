"""Publishing outbox messages to RabbitMQ with publisher confirms and mandatory routing."""

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustConnection


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    body: bytes
    routing_key: str
    message_id: str
    correlation_id: str | None
    type: str
    version: int


class BrokerUnavailable(Exception):
    """The broker connection is down (a robust connection is trying to restore it)."""


class EventPublisher(Protocol):
    """Where the relay sends messages. ``publish`` returns only once the broker confirmed."""

    async def publish(self, message: OutgoingMessage) -> None: ...

    async def check(self) -> None: ...

    async def close(self) -> None: ...


class RabbitPublisher:
    """Publishes to one exchange over a robust connection, made on first use.

    The exchange is declared (durable topic) by this side; queues belong to consumers.
    A message the broker returns as unroutable raises, so it stays in the outbox. Every
    message carries the connection's user as ``user_id``: the broker refuses any other
    value, so consumers can tell the login service's events from anyone else's.
    """

    def __init__(
        self, url: str, exchange_name: str, *, connect_timeout: float, publish_timeout: float
    ) -> None:
        self._url = url
        self._user_id = unquote(urlsplit(url).username or "guest")  # AMQP's default user
        self._exchange_name = exchange_name
        self._connect_timeout = connect_timeout
        self._publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def _ready_exchange(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is not None and self._connection and not self._connection.is_closed:
                return self._exchange
            await self._drop_connection()
            connection = await aio_pika.connect_robust(
                self._url,
                timeout=self._connect_timeout,
                client_properties={"connection_name": "login-service outbox"},
            )
            try:
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                self._exchange = await channel.declare_exchange(
                    self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
            except BaseException:
                await connection.close()
                raise
            self._connection = connection
            return self._exchange

    async def publish(self, message: OutgoingMessage) -> None:
        exchange = await self._ready_exchange()
        await exchange.publish(
            aio_pika.Message(
                body=message.body,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                type=message.type,
                headers={"x-event-version": message.version},
                app_id="login-service",
                user_id=self._user_id,
            ),
            routing_key=message.routing_key,
            mandatory=True,
            timeout=self._publish_timeout,
        )

    async def check(self) -> None:
        """Raise unless the broker is connected (connecting first if need be)."""
        await self._ready_exchange()
        if self._connection is None or not self._connection.connected.is_set():
            raise BrokerUnavailable("reconnecting to the broker")

    async def _drop_connection(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None and not connection.is_closed:
            # Closing a broken connection may fail in any way; it is dropped regardless.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), timeout=self._connect_timeout)

    async def close(self) -> None:
        async with self._lock:
            await self._drop_connection()
