"""Run a short MongoDB transaction with the retries MongoDB's drivers prescribe, bounded.

- TransientTransactionError (write conflict, election, network): run the whole body again.
- UnknownTransactionCommitResult: commit again (the body's writes are already in the txn).
- DuplicateKeyError: a concurrent transaction committed the same unique key after this one
  read; running the body again lets its reads see that commit and decide accordingly.
Each retry waits a jittered, exponentially growing delay; after `max_attempts` it gives up.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pymongo import ReadPreference
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from promotion_service.consumer.backoff import backoff_delay

_BASE_DELAY_SECONDS = 0.005
_MAX_DELAY_SECONDS = 0.5


class TransactionRetriesExhausted(Exception):
    """The transaction kept conflicting; the caller may retry the whole unit of work later."""


@dataclass(frozen=True, slots=True)
class TransactionRun[T]:
    value: T
    attempts: int


def retry_delay(attempt: int) -> float:
    """The wait before running a conflicting transaction again: short, growing, jittered."""
    return backoff_delay(attempt, base=_BASE_DELAY_SECONDS, ceiling=_MAX_DELAY_SECONDS)


def _is_retryable(exc: PyMongoError) -> bool:
    return isinstance(exc, DuplicateKeyError) or exc.has_error_label("TransientTransactionError")


async def _commit(session: AsyncClientSession, max_attempts: int) -> None:
    for attempt in range(1, max_attempts + 1):
        try:
            await session.commit_transaction()
            return
        except PyMongoError as exc:
            if not exc.has_error_label("UnknownTransactionCommitResult") or attempt == max_attempts:
                raise
            await asyncio.sleep(retry_delay(attempt))


async def run_transaction[T](
    session: AsyncClientSession,
    body: Callable[[AsyncClientSession], Awaitable[T]],
    *,
    max_attempts: int,
) -> TransactionRun[T]:
    """Run `body` inside one transaction (snapshot reads, majority writes) and commit it."""
    for attempt in range(1, max_attempts + 1):
        await session.start_transaction(
            read_concern=ReadConcern("snapshot"),
            write_concern=WriteConcern("majority"),
            read_preference=ReadPreference.PRIMARY,
        )
        try:
            value = await body(session)
        except BaseException as exc:
            if session.in_transaction:
                await session.abort_transaction()
            if not isinstance(exc, PyMongoError) or not _is_retryable(exc):
                raise
            if attempt == max_attempts:
                raise TransactionRetriesExhausted(f"gave up after {attempt} attempts") from exc
            await asyncio.sleep(retry_delay(attempt))
            continue
        try:
            await _commit(session, max_attempts)
        except PyMongoError as exc:
            if not exc.has_error_label("TransientTransactionError"):
                raise
            if attempt == max_attempts:
                raise TransactionRetriesExhausted(f"gave up after {attempt} attempts") from exc
            await asyncio.sleep(retry_delay(attempt))
            continue
        return TransactionRun(value=value, attempts=attempt)
    raise TransactionRetriesExhausted("no attempt allowed")  # only when max_attempts < 1
