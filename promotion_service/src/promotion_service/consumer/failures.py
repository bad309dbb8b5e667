"""Which claim failures mean "the database is unavailable or contended", not "this message",
and what a log may say about a failure.

Such a failure says nothing about the message: it is retried later, without limit, and is
never dead-lettered. Any other exception (a bug, an unexpected error) counts as an attempt.
"""

from pymongo.errors import (
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from promotion_service.raised_at import raised_at
from promotion_service.transaction import TransactionRetriesExhausted

WRITE_CONFLICT = 112
_LABELS = ("TransientTransactionError", "UnknownTransactionCommitResult")

# ConnectionFailure covers AutoReconnect, NetworkTimeout, NotPrimaryError and
# ServerSelectionTimeoutError.
_UNAVAILABLE = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


def database_unavailable(failure: BaseException) -> bool:
    """True if `failure` means the database is away or contended right now."""
    if isinstance(failure, TransactionRetriesExhausted):
        # Conflicting transactions, unless a unique key kept refusing the same write: that
        # contradicts stored state and would fail again however long it waited.
        return not isinstance(failure.__cause__, DuplicateKeyError)
    if isinstance(failure, _UNAVAILABLE):
        return True
    if isinstance(failure, OperationFailure) and failure.code == WRITE_CONFLICT:
        return True
    return isinstance(failure, PyMongoError) and any(
        failure.has_error_label(label) for label in _LABELS
    )


def describe(failure: BaseException) -> str:
    """What a log may say about a failure: its type and where it was raised (its message
    may quote stored values)."""
    return f"{type(failure).__name__} at {raised_at(failure)}"
