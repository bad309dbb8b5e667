"""Fixed throttle windows and the relay's retry backoff."""

from login_service.backoff import backoff_seconds
from login_service.guard.windows import ThrottleRule, current_window, retry_after_seconds

RULE = ThrottleRule("account", max_count=5, window_seconds=900)


def test_a_window_ends_at_the_next_multiple_of_its_length() -> None:
    window = current_window(RULE, "account:1", now=1_000.5)
    assert window.ends_at == 1_800
    assert window.document_id == "account:900:account:1"
    assert retry_after_seconds(window, now=1_000.5) == 800


def test_retry_after_is_at_least_one_second() -> None:
    window = current_window(RULE, "k", now=1_799.9)
    assert retry_after_seconds(window, now=1_799.99) == 1


def test_backoff_doubles_up_to_its_maximum() -> None:
    delays = [backoff_seconds(n, initial=1.0, maximum=10.0) for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
