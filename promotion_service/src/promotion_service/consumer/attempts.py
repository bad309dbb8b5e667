"""Count the deliveries of each message in MongoDB, before handling it.

A message that crashes the consumer process (or gets it killed) leaves no trace in the
process, and a classic queue does not count redeliveries; this counter does, whatever the
queue type. Each delivery adds one (an atomic `$inc` upsert keyed by the message id) before
anything else happens to it, so the count includes deliveries whose handling never ended.

A delivery the handler itself hands back because the database is unavailable is nothing the
message did wrong: `hand_back` records it (`handed_back`, in the same document), and such
deliveries do not count as attempts. What is left, `attempts - handed_back`, are the
deliveries that failed or ended without the handler settling them (crash suspects).

The counter is removed once the message is settled for good (acknowledged or
dead-lettered); a TTL index removes counters that nothing settled.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from promotion_service.clock import utc_now_ms
from promotion_service.db import DELIVERY_ATTEMPTS, Database, Document

MAX_KEY_LENGTH = 255  # an AMQP message-id is a short string: at most 255 bytes


def attempt_key(message_id: str | None, body: bytes) -> str:
    """What identifies a message across redeliveries: its message id (= the event id by
    contract), or a digest of its body when a producer sent none."""
    if message_id and len(message_id.encode()) <= MAX_KEY_LENGTH:
        return f"id:{message_id}"
    return f"sha256:{hashlib.sha256(body).hexdigest()}"


@dataclass(frozen=True, slots=True)
class AttemptCount:
    """What the counter knows about the delivery in hand."""

    attempt: int
    """This delivery's number among those that count (1 = first): every delivery, this one
    included, except the ones the handler handed back because the database was unavailable."""
    handed_back: int
    """Earlier deliveries the handler handed back because the database was unavailable."""


class DeliveryAttempts:
    """Delivery counters of the messages in hand (collection `delivery_attempts`)."""

    def __init__(self, db: Database, *, ttl: timedelta) -> None:
        self._collection = db[DELIVERY_ATTEMPTS]
        self._ttl = ttl

    async def count(self, key: str) -> AttemptCount:
        """Record one more delivery of `key`; return its attempt number and hand-backs."""
        now = utc_now_ms()
        update = {
            "$inc": {"attempts": 1},
            "$set": {"last_delivered_at": now, "expires_at": now + self._ttl},
        }
        try:
            counted = await self._upsert(key, update)
        except DuplicateKeyError:  # two first deliveries raced to insert: the other won
            counted = await self._upsert(key, update)
        delivered: int = counted["attempts"]
        handed_back: int = counted.get("handed_back", 0)
        return AttemptCount(attempt=delivered - handed_back, handed_back=handed_back)

    async def hand_back(self, key: str) -> None:
        """The handler hands the delivery in hand back because the database is unavailable:
        it must not count as an attempt."""
        await self._collection.update_one({"_id": key}, {"$inc": {"handed_back": 1}})

    async def forget(self, key: str) -> None:
        """The message is settled for good: a copy sent again starts from the first attempt."""
        await self._collection.delete_one({"_id": key})

    async def _upsert(self, key: str, update: Document) -> Document:
        counted = await self._collection.find_one_and_update(
            {"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER
        )
        assert counted is not None  # an upsert returning the document after always has one
        return counted
