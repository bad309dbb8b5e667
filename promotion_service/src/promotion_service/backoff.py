"""Growing, jittered delays between attempts: transactions, messages and start-up waits."""

import random


def backoff_delay(attempt: int, *, base: float, ceiling: float) -> float:
    """The wait after failed attempt `attempt` (1 = the first): base * 2**(attempt - 1),
    capped at `ceiling`, jittered within [half, full] so that competing retries spread out."""
    step = min(ceiling, base * 2 ** max(attempt - 1, 0))
    return random.uniform(step / 2, step)  # noqa: S311 - jitter, not cryptography
