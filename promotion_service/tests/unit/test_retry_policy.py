"""Attempt counting and backoff of the consumer."""

import pytest

from promotion_service.consumer.handler import ATTEMPT_HEADER, attempt_number, retry_delay_seconds
from promotion_service.consumer.transaction import retry_delay


@pytest.mark.parametrize(
    ("headers", "queue_type", "expected"),
    [
        (None, "classic", 1),
        ({}, "classic", 1),
        ({ATTEMPT_HEADER: 3}, "classic", 3),
        ({ATTEMPT_HEADER: "3"}, "classic", 1),
        ({ATTEMPT_HEADER: 0}, "classic", 1),
        ({"x-delivery-count": 2}, "quorum", 3),
        ({}, "quorum", 1),
        ({ATTEMPT_HEADER: 4}, "quorum", 1),
    ],
)
def test_the_attempt_number_comes_from_our_header_or_the_brokers_count(
    headers: dict[str, object] | None, queue_type: str, expected: int
) -> None:
    assert attempt_number(headers, queue_type) == expected


def test_message_retry_delays_grow_and_stay_bounded() -> None:
    for attempt in range(1, 12):
        delay = retry_delay_seconds(attempt, base=1.0, ceiling=30.0)
        step = min(30.0, 2 ** (attempt - 1))
        assert step / 2 <= delay <= step


def test_transaction_retry_delays_are_jittered_below_a_small_ceiling() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 30)]

    assert all(0 <= delay <= 0.5 for delay in delays)
    assert len(set(delays)) > 1
