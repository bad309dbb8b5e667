"""Time source: UTC, truncated to the millisecond precision MongoDB stores."""

from datetime import UTC, datetime, timedelta


def utc_now_ms() -> datetime:
    """Now in UTC, truncated to milliseconds, so stored and returned times agree."""
    now = datetime.now(UTC)
    return now - timedelta(microseconds=now.microsecond % 1000)
