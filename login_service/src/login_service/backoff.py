"""Growing delays between attempts: exponential, capped, and jittered where retries compete."""

import random


def backoff_seconds(attempt: int, *, initial: float, maximum: float) -> float:
    """The wait after failed attempt `attempt` (1 = the first): initial * 2**(attempt - 1),
    capped at `maximum`."""
    return float(min(maximum, initial * 2 ** max(attempt - 1, 0)))


def jittered_backoff_seconds(attempt: int, *, initial: float, maximum: float) -> float:
    """``backoff_seconds``, drawn within [half, full] so that competing retries spread out."""
    step = backoff_seconds(attempt, initial=initial, maximum=maximum)
    return random.uniform(step / 2, step)  # noqa: S311 - jitter, not cryptography
