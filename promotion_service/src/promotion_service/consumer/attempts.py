"""Count the deliveries of each message in MongoDB, before handling it.

A message that crashes the consumer process (or gets it killed) leaves no trace in the
process, and a classic queue does not count redeliveries; this counter does, whatever the
queue type. Each delivery adds one (an atomic `$inc` upsert keyed by the message id) before
anything else happens to it, so the count includes deliveries whose handling never ended.
The counter is removed once the message is settled for good (acknowledged or
dead-lettered); a TTL index removes counters that nothing settled.
"""

import hashlib
from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from promotion_service.db import DELIVERY_ATTEMPTS, Database, Document, utc_now

MAX_KEY_LENGTH = 255  # an AMQP message-id is a short string: at most 255 bytes


def attempt_key(message_id: str | None, body: bytes) -> str:
    """What identifies a message across redeliveries: its message id (= the event id by
    contract), or a digest of its body when a producer sent none."""
    if message_id and len(message_id.encode()) <= MAX_KEY_LENGTH:
        return f"id:{message_id}"
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


class DeliveryAttempts:
    """Delivery counters of the messages in hand (collection `delivery_attempts`)."""

    def __init__(self, db: Database, *, ttl: timedelta) -> None:
        self._collection = db[DELIVERY_ATTEMPTS]
        self._ttl = ttl

    async def count(self, key: str) -> int:
        """Record one more delivery of `key`; return how many there have been (1 = first)."""
        now = utc_now()
        update = {
            "$inc": {"attempts": 1},
            "$set": {"last_delivered_at": now, "expires_at": now + self._ttl},
        }
        try:
            counted = await self._upsert(key, update)
        except DuplicateKeyError:  # two first deliveries raced to insert: the other won
            counted = await self._upsert(key, update)
        attempts: int = counted["attempts"]
        return attempts

    async def forget(self, key: str) -> None:
        """The message is settled for good: a copy sent again starts from the first attempt."""
        await self._collection.delete_one({"_id": key})

    async def _upsert(self, key: str, update: Document) -> Document:
        counted = await self._collection.find_one_and_update(
            {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counted is not None  # an upsert returning the document after always has one
        return counted
