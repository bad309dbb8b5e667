"""The hashing threads' queue: owners first, and bounded, so a flood is shed, not queued.

A process hashes ``slots`` passwords at once (its hashing threads); the rest wait here, in
two lines: attempts of trusted owners (a valid device token naming the account) are served
before every untrusted one. When more wait than the process hashes in a few seconds, a new
attempt is refused at once (``VerificationQueueFull``, 503 with ``Retry-After``) instead of
waiting into the proxy's read timeout: untrusted ones when both lines together are full,
owners only when their own line is.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from login_service.errors import VerificationQueueFull


class VerificationQueue:
    """At most ``slots`` hashing operations at once; at most ``limit`` waiting."""

    def __init__(self, *, slots: int, limit: int, retry_after_seconds: int) -> None:
        self._free = slots
        self._limit = limit
        self._retry_after = retry_after_seconds
        self._owners: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def waiting(self) -> int:
        return len(self._owners) + len(self._others)

    @asynccontextmanager
    async def slot(self, *, owner: bool = False, sheddable: bool = True) -> AsyncIterator[None]:
        """Hold one hashing slot; wait for it in the owner's line or the other one.

        Raises ``VerificationQueueFull`` at once when the line is full and ``sheddable``.
        """
        if self._free > 0 and not self.waiting:
            self._free -= 1
        else:
            line = self._owners if owner else self._others
            waiting = len(line) if owner else self.waiting
            if sheddable and waiting >= self._limit:
                raise VerificationQueueFull(self._retry_after)
            await self._wait(line)
        try:
            yield
        finally:
            self._hand_on()

    async def _wait(self, line: deque[asyncio.Future[None]]) -> None:
        turn = asyncio.get_running_loop().create_future()
        line.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            with suppress(ValueError):
                line.remove(turn)
            if turn.done() and not turn.cancelled():
                self._hand_on()  # it was handed a slot it will not use
            raise

    def _hand_on(self) -> None:
        """Give the freed slot to the first waiting owner, else the first other, else free it."""
        for line in (self._owners, self._others):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)
                    return
        self._free += 1
