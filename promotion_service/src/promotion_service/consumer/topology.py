"""Declare the first-login topology (docs/events/topology.json) with names from settings."""

import contextlib
from typing import Any

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractQueue

from promotion_service.config import Settings
from promotion_service.consumer.events_exchange import events_exchange


def queue_arguments(settings: Settings) -> dict[str, Any]:
    """Arguments of the work queue: lazy classic, or quorum with a delivery limit far above
    the application's attempts (the broker also counts returns of dropped connections);
    both DLX.

    A quorum queue dead-letters at least once: the broker keeps a dead-lettered message until
    the dead-letter queue has confirmed it (RabbitMQ's default for every queue is at most
    once: a message lost on the way is gone). That strategy needs `reject-publish` overflow;
    the queue has no length limit, so it never refuses a publish for it."""
    dead_lettering = {
        "x-dead-letter-exchange": settings.dead_letter_exchange,
        "x-dead-letter-routing-key": settings.dead_letter_routing_key,
    }
    if settings.queue_type == "quorum":
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": settings.quorum_delivery_limit,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
            **dead_lettering,
        }
    return {"x-queue-mode": "lazy", **dead_lettering}


def dead_letter_queue_arguments(settings: Settings) -> dict[str, Any]:
    """The dead-letter queue is of the work queue's kind: replicated beside a quorum queue, so
    that what was dead-lettered survives the loss of a node as the work queue's messages do."""
    return {"x-queue-type": "quorum"} if settings.queue_type == "quorum" else {}


async def declare_topology(channel: AbstractChannel, settings: Settings) -> AbstractQueue:
    """Exchange, dead-letter exchange and queue, the work queue, and their bindings."""
    events = await events_exchange(channel, settings.events_exchange)
    dead_letter = await channel.declare_exchange(
        settings.dead_letter_exchange, ExchangeType.DIRECT, durable=True
    )
    dead_letter_queue = await channel.declare_queue(
        settings.dead_letter_queue, durable=True, arguments=dead_letter_queue_arguments(settings)
    )
    await dead_letter_queue.bind(dead_letter, routing_key=settings.dead_letter_routing_key)
    queue = await channel.declare_queue(
        settings.queue_name, durable=True, arguments=queue_arguments(settings)
    )
    await queue.bind(events, routing_key=settings.first_login_routing_key)
    return queue


async def consuming_channel(
    connection: AbstractConnection, settings: Settings
) -> tuple[AbstractChannel, AbstractQueue]:
    """A fresh channel with the prefetch set and the topology declared.

    Closed again when that fails: a refused declare closes the channel on the broker's side
    anyway, so each try of the consumer's start begins on a new one.
    """
    channel = await connection.channel()
    try:
        await channel.set_qos(prefetch_count=settings.consumer_prefetch)
        queue = await declare_topology(channel, settings)
    except Exception:
        with contextlib.suppress(Exception):
            await channel.close()
        raise
    return channel, queue
