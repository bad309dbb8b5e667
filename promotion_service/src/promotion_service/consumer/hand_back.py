"""Handing a delivery back to its queue without the broker counting it against the message.

A classic queue: a nack with requeue. A quorum queue counts every nack-with-requeue against
its ``x-delivery-limit``, so there the message goes back as a fresh copy published to the
work queue (publisher confirms), and the delivery is then acknowledged; if the copy cannot
be published, a nack is the fallback.
"""

from collections.abc import Awaitable
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

PUBLISH_TIMEOUT_SECONDS = 10.0


def fresh_copy(message: AbstractIncomingMessage, user_id: str) -> aio_pika.Message:
    """The message as its producer sent it, for publishing again: without the broker's
    delivery count, and sent as `user_id` (this consumer's broker user: the broker checks
    it against the publisher, and the consumer trusts its own hand-back copies)."""
    headers = {k: v for k, v in (message.headers or {}).items() if k != "x-delivery-count"}
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        reply_to=message.reply_to,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
        user_id=user_id,
    )


def channel_open(message: AbstractIncomingMessage) -> bool:
    """Whether the channel that delivered `message` is still open (it cannot be settled,
    nor copied usefully, on another: the broker requeues what a closed channel held)."""
    try:
        return not message.channel.is_closed
    except Exception:  # aio-pika raises when the channel is gone
        return False


async def settle(settling: Awaitable[None], logger: Any) -> bool:
    """Await an ack/nack/reject; a lost channel means the broker redelivers, which is safe."""
    try:
        await settling
    except Exception as exc:
        logger.warning("settle_failed", error=type(exc).__name__)
        return False
    return True


async def hand_back(
    message: AbstractIncomingMessage,
    *,
    copy_to: AbstractExchange | None,
    queue: str,
    sender: str,
    logger: Any,
) -> None:
    """Requeue `message` uncounted: a confirmed fresh copy to `copy_to` (quorum queues), sent
    as `sender`, then an ack, else (or if the copy fails) a nack with requeue."""
    if not channel_open(message):
        return  # the broker has taken it back already, with the channel
    if copy_to is not None and await _publish_copy(copy_to, message, queue, sender, logger):
        await settle(message.ack(), logger)
        return
    await settle(message.nack(requeue=True), logger)


async def _publish_copy(
    exchange: AbstractExchange,
    message: AbstractIncomingMessage,
    queue: str,
    sender: str,
    logger: Any,
) -> bool:
    try:
        confirmed = await exchange.publish(
            fresh_copy(message, sender), routing_key=queue, timeout=PUBLISH_TIMEOUT_SECONDS
        )
    except Exception as exc:
        logger.warning("requeue_copy_failed", error=type(exc).__name__, fallback="nack")
        return False
    if not isinstance(confirmed, aiormq.spec.Basic.Ack):  # returned: no queue took it
        logger.warning("requeue_copy_failed", error="not_routed", fallback="nack")
        return False
    return True
