"""Attempt counting and backoff of the consumer."""

from promotion_service.consumer.attempts import attempt_key
from promotion_service.consumer.backoff import backoff_delay
from promotion_service.consumer.transaction import retry_delay


def test_a_message_is_known_by_its_id_or_else_by_a_digest_of_its_body() -> None:
    assert attempt_key("evt-1", b"{}") == "id:evt-1"
    assert attempt_key("evt-1", b"other body") == "id:evt-1"  # the same message, redelivered
    without_id = attempt_key(None, b'{"a": 1}')
    assert without_id.startswith("sha256:")
    assert without_id == attempt_key("", b'{"a": 1}') != attempt_key(None, b'{"a": 2}')
    assert attempt_key("x" * 256, b"{}").startswith("sha256:")  # longer than AMQP allows


def test_retry_delays_grow_and_stay_bounded_and_jittered() -> None:
    for attempt in range(1, 12):
        delay = backoff_delay(attempt, base=1.0, ceiling=30.0)
        step = min(30.0, 2 ** (attempt - 1))
        assert step / 2 <= delay <= step
    assert len({backoff_delay(3, base=1.0, ceiling=30.0) for _ in range(20)}) > 1


def test_transaction_retry_delays_stay_below_a_small_ceiling() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 30)]

    assert all(0 < delay <= 0.5 for delay in delays)
