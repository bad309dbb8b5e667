"""The one transaction helper: PyMongo's ``with_transaction`` policy, bounded, plus one retry.

- ``with_transaction`` runs the body again on an error labelled TransientTransactionError
  (write conflict, election, network) and commits again on UnknownTransactionCommitResult,
  as MongoDB's drivers prescribe.
- Each run of the body counts; past ``max_attempts`` the body refuses to run again
  (TransactionRetriesExhausted), so a contended document cannot hold a caller for the
  driver's full two minutes.
- DuplicateKeyError: a concurrent transaction committed the same unique key after this one
  read. A body that relies on it (the grant does: its reads decide, a unique index guards)
  passes ``retry_duplicate_key=True``: the body runs again in a new transaction, whose reads
  then see that commit and decide accordingly.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pymongo import AsyncMongoClient, ReadPreference
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from promotion_service.backoff import jittered_backoff_seconds
from promotion_service.db import Document

_BASE_DELAY_SECONDS = 0.005
_MAX_DELAY_SECONDS = 0.5


class TransactionRetriesExhausted(Exception):
    """The transaction kept conflicting; the caller may retry the whole unit of work later."""


@dataclass(frozen=True, slots=True)
class TransactionRun[T]:
    value: T
    attempts: int


def retry_delay(attempt: int) -> float:
    """The wait before running a transaction again after a duplicate key: short, jittered."""
    return jittered_backoff_seconds(
        attempt, initial=_BASE_DELAY_SECONDS, maximum=_MAX_DELAY_SECONDS
    )


async def run_in_transaction[T](
    client: AsyncMongoClient[Document],
    body: Callable[[AsyncClientSession], Awaitable[T]],
    *,
    max_attempts: int,
    retry_duplicate_key: bool = False,
) -> TransactionRun[T]:
    """Run ``body`` in one transaction (snapshot reads, majority writes) and commit it."""
    attempts = 0

    async def counted(session: AsyncClientSession) -> T:
        nonlocal attempts
        if attempts >= max_attempts:
            raise TransactionRetriesExhausted(f"gave up after {attempts} attempts")
        attempts += 1
        return await body(session)

    async with client.start_session() as session:
        while True:
            try:
                value = await session.with_transaction(
                    counted,
                    read_concern=ReadConcern("snapshot"),
                    write_concern=WriteConcern("majority"),
                    read_preference=ReadPreference.PRIMARY,
                )
            except DuplicateKeyError as exc:
                if not retry_duplicate_key:
                    raise
                if attempts >= max_attempts:
                    raise TransactionRetriesExhausted(f"gave up after {attempts} attempts") from exc
                await asyncio.sleep(retry_delay(attempts))
                continue
            return TransactionRun(value=value, attempts=attempts)
