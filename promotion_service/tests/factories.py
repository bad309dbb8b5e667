"""Events, messages and waiting, as the tests need them."""

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from promotion_service.config import Settings

EPOCH = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def first_login_event(
    order: int, account_id: str | None = None, **overrides: Any
) -> dict[str, Any]:
    """A valid account.first_login v1 body; a later order carries a later time."""
    at = (EPOCH + timedelta(milliseconds=order)).isoformat().replace("+00:00", "Z")
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": "account.first_login",
        "version": 1,
        "occurred_at": at,
        "account_id": f"acct-{order:05d}" if account_id is None else account_id,
        "first_login_at": at,
        "first_login_order": order,
        "correlation_id": uuid.uuid4().hex,
    }
    event.update(overrides)
    return event


async def publish(
    channel: AbstractChannel, settings: Settings, body: bytes | dict[str, Any], **props: Any
) -> None:
    """Publish like the login service does: persistent, JSON, message_id = event_id."""
    if isinstance(body, dict):
        props.setdefault("message_id", body.get("event_id"))
        body = json.dumps(body).encode()
    # The broker checks user_id against the connection's user; the consumer trusts that user.
    props.setdefault("user_id", settings.broker_user)
    exchange = await channel.get_exchange(settings.events_exchange)
    await exchange.publish(
        aio_pika.Message(
            body,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            type="account.first_login",
            headers=props.pop("headers", {"x-event-version": 1}),
            **props,
        ),
        routing_key=settings.first_login_routing_key,
        mandatory=True,
    )


async def queue_depth(channel: AbstractChannel, name: str) -> tuple[int, int]:
    """(ready messages, consumers) of a queue, from a passive declare."""
    queue = await channel.declare_queue(name, passive=True)
    result = queue.declaration_result
    return result.message_count or 0, result.consumer_count or 0


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, timeout: float, interval: float = 0.2, what: str
) -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if await condition():
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        await asyncio.sleep(interval)


async def drain_dead_letters(channel: AbstractChannel, settings: Settings) -> list[bytes]:
    """Every body in the dead-letter queue (acknowledged, so the queue ends empty)."""
    queue = await channel.declare_queue(settings.dead_letter_queue, passive=True)
    bodies = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        bodies.append(message.body)
    return bodies
