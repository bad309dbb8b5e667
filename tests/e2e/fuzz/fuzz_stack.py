"""A stack of the fuzzer's own: its thousands of failed logins must not throttle other tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tests.e2e.harness import LocalStack, StackUrls, external_stack, serve

# Generous budgets: the fuzzer's failed logins come from one address, and a throttled
# client would hide every later step behind a 429. Throttling has its own tests.
GENEROUS_BUDGETS = {
    "LOGIN_THROTTLE_IDENTIFIER_MAX_FAILURES": "1000000",
    "LOGIN_THROTTLE_CLIENT_MAX_FAILURES": "1000000",
    "LOGIN_THROTTLE_ACCOUNT_TOTAL_MAX_FAILURES": "1000000",
    "LOGIN_THROTTLE_ACCOUNT_DAILY_MAX_FAILURES": "1000000",
    "LOGIN_THROTTLE_DEVICE_MAX_FAILURES": "1000000",
}


class FuzzStack(LocalStack):
    def environment(self) -> dict[str, str]:
        return {**super().environment(), **GENEROUS_BUDGETS}


def fuzz_stack_urls(workdir: Path) -> Iterator[StackUrls]:
    """The external stack when one is given (LOGIN_URL/PROMOTION_URL), else a local one."""
    external = external_stack()
    if external is not None:
        yield external
        return
    yield from serve(FuzzStack(workdir))
