"""The events exchange, as a consumer with rights on its own names only declares it."""

import aio_pika
from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel, AbstractExchange


async def events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The login service's exchange: looked up (passive declare), declared only if missing.

    The login service owns and declares it; the promotion user has no configure right on
    it in production, and a passive declare needs none. When it does not exist yet, a
    declare is tried: it succeeds for a shared development user, and is refused
    (ACCESS_REFUSED) for the promotion user; the consumer's start (consumer/runner.py) then
    retries on a fresh channel until the login service has declared it.
    """
    try:
        return await channel.declare_exchange(name, ExchangeType.TOPIC, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        await channel.reopen()  # a failed passive declare closes the channel
        return await channel.declare_exchange(name, ExchangeType.TOPIC, durable=True)
