"""The run's broker objects (its own names, so the shared broker's defaults stay untouched):
a synthetic backlog of first-login events, consumer counts, cleanup."""

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

import aio_pika
from aiormq.exceptions import AMQPError

ROUTING_KEY = "account.first_login.v1"


@dataclass(frozen=True, slots=True)
class BrokerNames:
    exchange: str
    queue: str
    dead_letter_exchange: str
    dead_letter_queue: str
    bare_queue: str  # the bare consume-and-ack loop's own queue

    @classmethod
    def for_run(cls, run_id: str) -> "BrokerNames":
        prefix = f"bench.{run_id}"
        return cls(
            exchange=f"{prefix}.accounts.events",
            queue=f"{prefix}.promotion.first_login",
            dead_letter_exchange=f"{prefix}.promotion.dead_letter",
            dead_letter_queue=f"{prefix}.promotion.first_login.dead",
            bare_queue=f"{prefix}.bare",
        )


async def publish_backlog(
    url: str,
    names: BrokerNames,
    account_prefix: str,
    count: int,
    *,
    first_order: int = 1,
    to_queue: str | None = None,
) -> None:
    """Publish ``count`` events as the login service does (docs/events/first-login.v1), orders
    from ``first_order`` on, with confirms to the run's exchange or straight to ``to_queue``."""
    # Sent as the login service sends: the consumer handles only its broker user's events.
    user_id = unquote(urlsplit(url).username or "guest")
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        if to_queue is None:
            exchange, routing_key = await channel.get_exchange(names.exchange), ROUTING_KEY
        else:
            exchange, routing_key = channel.default_exchange, to_queue
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

        def message(order: int) -> aio_pika.Message:
            event_id = str(uuid.uuid4())
            event = {
                "event_id": event_id,
                "type": "account.first_login",
                "version": 1,
                "occurred_at": now,
                "account_id": f"{account_prefix}-{order}",
                "first_login_at": now,
                "first_login_order": order,
                "correlation_id": None,
            }
            return aio_pika.Message(
                json.dumps(event).encode(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=event_id,
                type="account.first_login",
                headers={"x-event-version": 1},
                user_id=user_id,
            )

        end = first_order + count
        for first in range(first_order, end, 200):  # 200 confirms awaited at a time
            batch = [message(order) for order in range(first, min(end, first + 200))]
            await asyncio.gather(*(exchange.publish(m, routing_key, mandatory=True) for m in batch))


async def wait_for_consumers(url: str, queue: str, count: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    connection = await aio_pika.connect_robust(url)
    async with connection:
        while time.monotonic() < deadline:
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(queue, passive=True)
                if (declared.declaration_result.consumer_count or 0) >= count:
                    return
            except AMQPError:
                pass  # not declared yet
            finally:
                with contextlib.suppress(AMQPError, RuntimeError):
                    await channel.close()
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{count} consumers did not attach to {queue} in {timeout:.0f} s")


async def delete_run_objects(url: str, names: BrokerNames) -> None:
    """Remove the run's queues and exchanges (each may already be gone)."""
    connection = await aio_pika.connect_robust(url)
    async with connection:
        for queue in (names.queue, names.dead_letter_queue, names.bare_queue):
            channel = await connection.channel()  # a failed delete closes its channel
            with contextlib.suppress(AMQPError, RuntimeError):
                await channel.queue_delete(queue)
        for exchange in (names.exchange, names.dead_letter_exchange):
            channel = await connection.channel()
            with contextlib.suppress(AMQPError, RuntimeError):
                await channel.exchange_delete(exchange)


async def dead_lettered(url: str, names: BrokerNames) -> int:
    """Messages in the run's dead-letter queue (0 when it does not exist)."""
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(names.dead_letter_queue, passive=True)
        except AMQPError:
            return 0
        return int(queue.declaration_result.message_count or 0)
