"""Attempt counting, backoff and failure classification of the consumer."""

import pytest
from pymongo import errors

from promotion_service.backoff import jittered_backoff_seconds
from promotion_service.consumer.attempts import attempt_key
from promotion_service.consumer.failures import WRITE_CONFLICT, database_unavailable
from promotion_service.errors import CampaignMissing
from promotion_service.transaction import TransactionRetriesExhausted, retry_delay


def test_a_message_is_known_by_its_id_or_else_by_a_digest_of_its_body() -> None:
    assert attempt_key("evt-1", b"{}") == "id:evt-1"
    assert attempt_key("evt-1", b"other body") == "id:evt-1"  # the same message, redelivered
    without_id = attempt_key(None, b'{"a": 1}')
    assert without_id.startswith("sha256:")
    assert without_id == attempt_key("", b'{"a": 1}') != attempt_key(None, b'{"a": 2}')
    assert attempt_key("x" * 256, b"{}").startswith("sha256:")  # longer than AMQP allows


def test_retry_delays_grow_and_stay_bounded_and_jittered() -> None:
    for attempt in range(1, 12):
        delay = jittered_backoff_seconds(attempt, initial=1.0, maximum=30.0)
        step = min(30.0, 2 ** (attempt - 1))
        assert step / 2 <= delay <= step
    assert len({jittered_backoff_seconds(3, initial=1.0, maximum=30.0) for _ in range(20)}) > 1


def test_transaction_retry_delays_stay_below_a_small_ceiling() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 30)]

    assert all(0 < delay <= 0.5 for delay in delays)


def _exhausted_by(cause: Exception) -> TransactionRetriesExhausted:
    try:
        raise TransactionRetriesExhausted("gave up after 10 attempts") from cause
    except TransactionRetriesExhausted as exhausted:
        return exhausted


DATABASE_UNAVAILABLE = [
    errors.ServerSelectionTimeoutError("no primary within 30 s"),
    errors.AutoReconnect("connection reset"),
    errors.NetworkTimeout("timed out"),
    errors.NotPrimaryError("not primary"),
    errors.ConnectionFailure("refused"),
    errors.ExecutionTimeout("operation exceeded time limit", code=50),
    errors.WTimeoutError("waiting for replication timed out", code=64),
    errors.OperationFailure("WriteConflict", code=WRITE_CONFLICT),
    errors.PyMongoError("abort", error_labels=["TransientTransactionError"]),
    errors.OperationFailure(
        "commit", code=91, details={"errorLabels": ["TransientTransactionError"]}
    ),
    errors.PyMongoError("commit", error_labels=["UnknownTransactionCommitResult"]),
    _exhausted_by(errors.OperationFailure("WriteConflict", code=WRITE_CONFLICT)),
]
NOT_THE_DATABASE = [
    RuntimeError("a bug"),
    KeyError("slots_total"),
    ConnectionError("not a pymongo error"),
    TimeoutError("not a pymongo error"),
    CampaignMissing(),
    errors.OperationFailure("BadValue", code=2),
    errors.DuplicateKeyError("E11000", code=11000),
    errors.InvalidOperation("client closed"),
    errors.PyMongoError("labelled otherwise", error_labels=["NoWritesPerformed"]),
    _exhausted_by(errors.DuplicateKeyError("E11000", code=11000)),
]


@pytest.mark.parametrize("failure", DATABASE_UNAVAILABLE, ids=lambda f: type(f).__name__)
def test_database_outages_and_contention_are_recognised(failure: Exception) -> None:
    assert database_unavailable(failure)


@pytest.mark.parametrize("failure", NOT_THE_DATABASE, ids=lambda f: type(f).__name__)
def test_other_failures_are_not_blamed_on_the_database(failure: Exception) -> None:
    assert not database_unavailable(failure)
