"""Records an account's first login: order number, time and outbox event in one transaction."""

from collections.abc import Callable
from datetime import datetime

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.read_concern import ReadConcern
from pymongo.read_preferences import ReadPreference
from pymongo.write_concern import WriteConcern

from login_service.clock import utc_now_ms
from login_service.db import FIRST_LOGIN_COUNTER_ID, Collections, Document
from login_service.first_login.event import EVENT_TYPE, EVENT_VERSION, FirstLoginEvent
from login_service.tracing import current_trace_context

# On the counter document: the first_login_at of the latest recording.
LATEST_TIME_FIELD = "latest_first_login_at"


class _AlreadyRecorded(Exception):
    """Raised inside the transaction to abort it: another login recorded this account first."""


class FirstLoginRecorder:
    """The one atomic step of a first login (the only transaction of the service)."""

    def __init__(
        self,
        client: AsyncMongoClient[Document],
        collections: Collections,
        *,
        routing_key: str,
        on_recorded: Callable[[], None],
        clock: Callable[[], datetime] = utc_now_ms,
    ) -> None:
        self._client = client
        self._on_recorded = on_recorded
        self._collections = collections
        self._routing_key = routing_key
        self._clock = clock

    async def record(self, account_id: str, correlation_id: str | None) -> FirstLoginEvent | None:
        """Record the first login of ``account_id``; ``None`` if it was already recorded.

        Invariants and their guards:
        - one order per account: the update matches only while ``first_login_at`` is
          unset, and the unique index on ``first_login_order`` backs it up;
        - orders 1, 2, 3, ... without gaps: the counter ``$inc`` is rolled back with
          the transaction when the account update matches nothing;
        - a smaller order never carries a later time, whatever the clocks of the hosts
          recording: the counter document, written by every recording (so they
          serialise on it), keeps the latest time handed out, and each recording takes
          ``max(its clock, that time)`` in the same update as its order number;
        - no lost event: the outbox document commits with the account update.

        The outbox entry keeps the request's W3C trace context (when a trace is active), so
        the relay's publish continues this login's trace.
        """
        trace_context = current_trace_context()

        async def in_transaction(session: AsyncClientSession) -> FirstLoginEvent:
            return await self._recording(account_id, correlation_id, trace_context, session)

        async with self._client.start_session() as session:
            try:
                event = await session.with_transaction(
                    in_transaction,
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority"),
                    read_preference=ReadPreference.PRIMARY,
                )
            except _AlreadyRecorded:
                return None
        # The relay need not wait for its next poll to publish the committed event.
        self._on_recorded()
        return event

    async def _recording(
        self,
        account_id: str,
        correlation_id: str | None,
        trace_context: dict[str, str],
        session: AsyncClientSession,
    ) -> FirstLoginEvent:
        """One attempt of the transaction: order number and time, account, outbox entry."""
        # Read again on each attempt: a retried transaction is a new recording.
        host_now = self._clock()
        order, now = await self._take_order(host_now, session)
        await self._mark_first_login(account_id, order, now, session)
        event = FirstLoginEvent.new(
            account_id=account_id,
            first_login_at=now,
            first_login_order=order,
            correlation_id=correlation_id,
        )
        await self._add_to_outbox(event, host_now, trace_context, session)
        return event

    async def _take_order(
        self, host_now: datetime, session: AsyncClientSession
    ) -> tuple[int, datetime]:
        """The next order number and its time: ``max(host_now, the latest time handed out)``."""
        counter = await self._collections.counters.find_one_and_update(
            {"_id": FIRST_LOGIN_COUNTER_ID},
            {"$inc": {"value": 1}, "$max": {LATEST_TIME_FIELD: host_now}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        assert counter is not None  # upsert with AFTER always returns the document
        return int(counter["value"]), counter[LATEST_TIME_FIELD]

    async def _mark_first_login(
        self, account_id: str, order: int, now: datetime, session: AsyncClientSession
    ) -> None:
        """Set the account's first login; ``_AlreadyRecorded`` if it already had one."""
        marked = await self._collections.accounts.update_one(
            {"_id": account_id, "first_login_at": None},
            {"$set": {"first_login_at": now, "first_login_order": order, "last_login_at": now}},
            session=session,
        )
        if marked.modified_count != 1:
            raise _AlreadyRecorded

    async def _add_to_outbox(
        self,
        event: FirstLoginEvent,
        host_now: datetime,
        trace_context: dict[str, str],
        session: AsyncClientSession,
    ) -> None:
        """The event's pending outbox entry, due at once."""
        await self._collections.outbox.insert_one(
            {
                "_id": event.event_id,
                "type": EVENT_TYPE,
                "version": EVENT_VERSION,
                "routing_key": self._routing_key,
                "body": event.body(),
                "correlation_id": event.correlation_id,
                "status": "pending",
                "attempts": 0,
                # The relay's schedule follows this host's clock, not the handed-out
                # time, which a host whose clock runs ahead may have pushed forward.
                "created_at": host_now,
                "next_attempt_at": host_now,
            }
            | ({"trace_context": trace_context} if trace_context else {}),
            session=session,
        )
